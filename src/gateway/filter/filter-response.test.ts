import { describe, expect, test } from "bun:test";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { filterResponse } from "./filter-response.ts";
import { decodeEnvelope, encodeEnvelope, protoObjectRef } from "./protobuf.ts";

const allowWeb = (_ns: string, name: string) => name.startsWith("web-");
const plan = { watch: false, allows: allowWeb };
const pod = (ns: string, name: string, pad = 0) => ({
  metadata: { name, namespace: ns, labels: { 'a"b': "c\\d" }, annotations: { x: "y".repeat(pad) } },
  spec: { containers: [{ name: "main", image: "nginx" }] },
});
const jsonRes = (body: unknown, headers: Record<string, string> = {}) =>
  new Response(typeof body === "string" ? body : JSON.stringify(body), {
    headers: { "content-type": "application/json", ...headers },
  });
const json = { "content-type": "application/json" };
/** A body that delivers `parts` one read at a time and then ends, or fails with `err`. */
const streamOf = (parts: Uint8Array[], err?: Error) => {
  let next = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (next < parts.length) c.enqueue(parts[next++]!);
      else if (err) c.error(err);
      else c.close();
    },
  });
};
/** A JSON response whose body arrives in chunks of `size` bytes. */
const chunked = (body: Uint8Array, size: number) => {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < body.length; i += size) parts.push(body.slice(i, i + size));
  return new Response(streamOf(parts), { headers: json });
};
/** What a client reads of a body, and whether reading it failed. */
async function readAll(res: Response): Promise<{ text: string; failed: boolean }> {
  const reader = res.body!.getReader();
  const parts: Uint8Array[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
  } catch {
    return { text: Buffer.concat(parts).toString(), failed: true };
  }
  return { text: Buffer.concat(parts).toString(), failed: false };
}
const namesOf = async (res: Response) =>
  ((await res.json()) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name);

describe("JSON lists", () => {
  test("items kept byte for byte, others dropped, list metadata kept", async () => {
    const list = {
      kind: "PodList",
      apiVersion: "v1",
      metadata: { resourceVersion: "7" },
      items: [pod("d", "web-1"), pod("d", "db"), pod("d", "web-2")],
    };
    const res = await filterResponse(jsonRes(list), plan);
    const got = (await res.json()) as typeof list;
    expect(got.items).toEqual([list.items[0]!, list.items[2]!]);
    expect(got.metadata).toEqual({ resourceVersion: "7" });
    expect(got.kind).toBe("PodList");
  });

  test("keys in any order (unstructured lists sort them), whitespace, nothing left: an empty list", async () => {
    const body =
      ' { "apiVersion":"stable.example.com/v1", "items" : [ {"spec":{},"metadata":{"namespace":"d","name":"db"}} ] ,"kind":"CronTabList","metadata":{} } ';
    const res = await filterResponse(jsonRes(body), plan);
    expect(await res.json()).toEqual({
      apiVersion: "stable.example.com/v1",
      items: [],
      kind: "CronTabList",
      metadata: {},
    });
  });

  test("Table rows by their object's metadata", async () => {
    const row = (name: string) => ({
      cells: [name],
      object: { kind: "PartialObjectMetadata", metadata: { name, namespace: "d" } },
    });
    const res = await filterResponse(
      jsonRes({
        kind: "Table",
        apiVersion: "meta.k8s.io/v1",
        metadata: {},
        columnDefinitions: [],
        rows: [row("db"), row("web-1")],
      }),
      plan,
    );
    expect(((await res.json()) as { rows: { cells: string[] }[] }).rows.map((r) => r.cells[0])).toEqual([
      "web-1",
    ]);
  });

  test("Table rows without object metadata (includeObject=None): refused, not emptied", async () => {
    const res = await filterResponse(
      jsonRes({ kind: "Table", metadata: {}, rows: [{ cells: ["web-1"] }] }),
      plan,
    );
    expect(res.status).toBe(406);
  });

  test("a Status passes; errors and non-2xx pass untouched", async () => {
    const status = { kind: "Status", apiVersion: "v1", status: "Success" };
    expect(await (await filterResponse(jsonRes(status), plan)).json()).toEqual(status);
    const err = new Response("{not json", { status: 500, headers: { "content-type": "application/json" } });
    expect(await (await filterResponse(err, plan)).text()).toBe("{not json");
  });

  test("a single object where a list was expected is refused, never passed through", async () => {
    const res = await filterResponse(jsonRes({ kind: "Pod", metadata: { name: "db" } }), plan);
    expect(res.status).toBe(406);
    expect(await res.text()).not.toContain('"db"');
  });

  test("an unknown content type is refused", async () => {
    const res = await filterResponse(
      new Response("items:\n- metadata: {name: db}\n", { headers: { "content-type": "application/yaml" } }),
      plan,
    );
    expect(res.status).toBe(406);
    expect(((await res.json()) as { message: string }).message).toContain('"application/yaml"');
    const none = await filterResponse(new Response("{}"), plan);
    expect(none.status).toBe(406);
  });

  test("5,000 items: exactly the allowed ones, in order", async () => {
    const items = Array.from({ length: 5000 }, (_, i) => pod("d", i % 3 === 0 ? `web-${i}` : `db-${i}`));
    const res = await filterResponse(jsonRes({ kind: "PodList", metadata: {}, items }), plan);
    const got = await namesOf(res);
    expect(got.length).toBe(1667);
    expect(got).toEqual(items.filter((_, i) => i % 3 === 0).map((p) => p.metadata.name));
  });

  test("a 50 MB list is filtered whole", async () => {
    const items = Array.from({ length: 1000 }, (_, i) => pod("d", i % 2 ? `web-${i}` : `db-${i}`, 50_000));
    const body = JSON.stringify({ kind: "PodList", metadata: {}, items });
    expect(body.length).toBeGreaterThan(50_000_000);
    const got = await namesOf(await filterResponse(jsonRes(body), plan));
    expect(got.length).toBe(500);
    expect(got.every((n) => n.startsWith("web-"))).toBe(true);
  });

  test("an item over the limit: a Status naming the limit", async () => {
    const body = JSON.stringify({ kind: "PodList", metadata: {}, items: [pod("d", "web-1", 2000)] });
    const res = await filterResponse(jsonRes(body), plan, { maxHeld: 1000 });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { message: string }).message).toContain("at most 1000 bytes");
  });
  test("the list is not held: 5,000 items through a 4 KiB hold, chunk by chunk", async () => {
    const items = Array.from({ length: 5000 }, (_, i) => pod("d", i % 3 === 0 ? `web-${i}` : `db-${i}`));
    const body = new TextEncoder().encode(JSON.stringify({ kind: "PodList", metadata: {}, items }));
    const res = await filterResponse(chunked(body, 1000), plan, { maxHeld: 4096 });
    expect(res.status).toBe(200);
    expect((await namesOf(res)).length).toBe(1667);
  });
  test("reuseBuffers: each of upstream's chunks is given back once filtered, and the answer is the same", async () => {
    const items = Array.from({ length: 3000 }, (_, i) => pod("d", i % 3 === 0 ? `web-${i}` : `db-${i}`));
    const body = new TextEncoder().encode(JSON.stringify({ kind: "PodList", metadata: {}, items }));
    const want = (await readAll(await filterResponse(chunked(body, 16_384), plan))).text;
    for (const size of [16_384, 1000, 7]) {
      // The chunks as upstream's fetch hands them over: each its own buffer.
      const parts: Uint8Array[] = [];
      for (let i = 0; i < body.length; i += size) parts.push(body.slice(i, i + size));
      const res = await filterResponse(new Response(streamOf(parts), { headers: json }), plan, {
        reuseBuffers: true,
      });
      const got = await readAll(res);
      expect(got.failed).toBe(false);
      expect(got.text).toBe(want);
      // Every chunk's memory was given back (a detached buffer), not left for the collector.
      expect(parts.filter((p) => p.buffer.byteLength !== 0).length).toBe(0);
    }
    // Off (a body whose chunks someone else may hold): nothing is detached.
    const parts = [body.slice(0, 5000), body.slice(5000)];
    await readAll(await filterResponse(new Response(streamOf(parts), { headers: json }), plan));
    expect(parts.map((p) => p.length)).toEqual([5000, body.length - 5000]);
  });
  test("cut before anything was sent: a Status", async () => {
    const whole = JSON.stringify({
      kind: "PodList",
      metadata: {},
      items: [pod("d", "web-1"), pod("d", "web-2")],
    });
    const cut = whole.slice(0, whole.indexOf("web-1"));
    // Content-Length says more than arrives …
    const short = new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(cut));
          c.close();
        },
      }),
      { headers: { "content-type": "application/json", "content-length": String(whole.length) } },
    );
    const a = await filterResponse(short, plan);
    expect(a.status).toBe(502);
    expect(((await a.json()) as { message: string }).message).toContain("broke off");
    // … no length at all, the body just ends …
    const b = await filterResponse(jsonRes(cut), plan);
    expect(b.status).toBe(502);
    // … or the stream errors.
    const broken = new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(cut));
          c.error(new Error("connection reset"));
        },
      }),
      { headers: { "content-type": "application/json" } },
    );
    const c = await filterResponse(broken, plan);
    expect(c.status).toBe(502);
    expect(await c.text()).toContain("connection reset");
  });
  test("cut after items were sent: the body fails, and what came is no whole list", async () => {
    const whole = JSON.stringify({
      kind: "PodList",
      metadata: {},
      items: [pod("d", "web-1"), pod("d", "db"), pod("d", "web-2")],
    });
    const cut = new TextEncoder().encode(whole.slice(0, whole.indexOf('"web-2"')));
    const cases: [string, () => Response][] = [
      [
        "fewer bytes than Content-Length",
        () =>
          new Response(streamOf([cut]), {
            headers: { "content-type": "application/json", "content-length": String(whole.length) },
          }),
      ],
      ["a chunked body that just ends", () => new Response(streamOf([cut]), { headers: json })],
      [
        "a connection that breaks",
        () => new Response(streamOf([cut], new Error("connection reset")), { headers: json }),
      ],
    ];
    for (const [why, make] of cases) {
      const aborted: string[] = [];
      const res = await filterResponse(make(), plan, { onAbort: (e) => aborted.push(e.message) });
      expect(res.status, why).toBe(200);
      const { text, failed } = await readAll(res);
      expect(failed, why).toBe(true);
      expect(text, why).toContain('"web-1"');
      expect(() => JSON.parse(text), why).toThrow();
      expect(aborted, why).toEqual([expect.stringContaining("does not answer it as a list")]);
    }
  });
  test("split anywhere, the same answer: JSON lists and Tables in chunks of every size", async () => {
    const list = JSON.stringify({
      apiVersion: "v1",
      items: [pod("d", "web-1"), pod("d", "db"), pod("e", "web-2"), pod("d", 'we"b')],
      kind: "PodList",
      metadata: { resourceVersion: "7" },
    });
    const row = (name: string) => ({
      cells: [name, "x]}{["],
      object: { kind: "PartialObjectMetadata", metadata: { name, namespace: "d" } },
    });
    const table = JSON.stringify({
      kind: "Table",
      apiVersion: "meta.k8s.io/v1",
      metadata: {},
      columnDefinitions: [{ name: "Name" }],
      rows: [row("db"), row("web-1"), row("web-2"), row("db-2")],
    });
    for (const text of [list, table]) {
      const body = new TextEncoder().encode(text);
      const want = await (await filterResponse(jsonRes(text), plan)).text();
      expect(JSON.parse(want)).toBeTruthy();
      for (let size = 1; size <= body.length; size += size < 40 ? 1 : 17) {
        const got = await (await filterResponse(chunked(body, size), plan)).text();
        expect(got, `chunks of ${size}`).toBe(want);
      }
    }
  });
  test("kind after the items (unstructured lists sort keys): a non-list found at the end aborts", async () => {
    const body = `{"apiVersion":"v1","items":[${JSON.stringify(pod("d", "web-1"))}],"kind":"Secret","metadata":{}}`;
    const res = await filterResponse(jsonRes(body), plan);
    // Read whole before anything was sent: refused outright.
    expect(res.status).toBe(406);
    const streamed = await filterResponse(chunked(new TextEncoder().encode(body), 64), plan);
    expect((await readAll(streamed)).failed).toBe(true);
  });
  test("two item arrays (a decoder keeps the last), brackets that do not match: refused", async () => {
    const two = `{"kind":"PodList","items":[],"metadata":{},"Items":[${JSON.stringify(pod("d", "db"))}]}`;
    const twoRes = await filterResponse(jsonRes(two), plan);
    expect(twoRes.status).toBe(502);
    expect(await twoRes.text()).not.toContain('"db"');
    const escaped = `{"kind":"PodList","items":[],"it\u0065ms":[${JSON.stringify(pod("d", "db"))}]}`;
    expect((await filterResponse(jsonRes(escaped), plan)).status).toBe(502);
    const crossed = `{"kind":"PodList","items":[{"metadata":{"name":"web-1","namespace":"d"},"x":[}},${JSON.stringify(pod("d", "db"))}]]}`;
    const crossedRes = await filterResponse(jsonRes(crossed), plan);
    expect(crossedRes.status).toBe(502);
    expect(await crossedRes.text()).not.toContain('"db"');
  });
  test("a gzip-encoded answer is refused (kubeport asks for identity)", async () => {
    const res = await filterResponse(
      jsonRes({ kind: "PodList", items: [] }, { "content-encoding": "gzip" }),
      plan,
    );
    expect(res.status).toBe(502);
  });
});

describe("protobuf lists", () => {
  const item = (ns: string, name: string) =>
    new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .fork()
      .tag(1, WireType.LengthDelimited)
      .string(name)
      .tag(3, WireType.LengthDelimited)
      .string(ns)
      .join()
      .tag(2, WireType.LengthDelimited)
      .bytes(new Uint8Array([1, 2, 3]))
      .finish();
  const list = (kind: string, items: Uint8Array[]) => {
    const w = new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .fork()
      .tag(2, WireType.LengthDelimited)
      .string("9")
      .join();
    for (const i of items) w.tag(2, WireType.LengthDelimited).bytes(i);
    return encodeEnvelope({ apiVersion: "v1", kind, raw: w.finish(), contentEncoding: "", contentType: "" });
  };
  const protoRes = (b: Uint8Array) =>
    new Response(b as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": "application/vnd.kubernetes.protobuf" },
    });

  test("items filtered, list metadata and item bytes kept", async () => {
    const res = await filterResponse(
      protoRes(list("PodList", [item("d", "web-1"), item("d", "db"), item("e", "web-2")])),
      plan,
    );
    const env = decodeEnvelope(new Uint8Array(await res.arrayBuffer()));
    expect(env.kind).toBe("PodList");
    const r = new BinaryReader(env.raw);
    const got: string[] = [];
    let rv = "";
    while (r.pos < r.len) {
      const [f, w] = r.tag();
      if (f === 2) got.push(protoObjectRef(r.bytes())!.name);
      else if (f === 1) rv = new BinaryReader(r.bytes()).skip(WireType.Varint).length ? "x" : "";
      else r.skip(w);
    }
    expect(got).toEqual(["web-1", "web-2"]);
    expect(rv).toBe("x");
  });

  test("split anywhere, the same answer; cut anywhere, a 502", async () => {
    const body = list("PodList", [item("d", "web-1"), item("d", "db"), item("e", "web-2"), item("d", "x")]);
    const want = new Uint8Array(await (await filterResponse(protoRes(body), plan)).arrayBuffer());
    expect(want.length).toBeLessThan(body.length);
    for (let size = 1; size <= body.length; size++) {
      const parts: Uint8Array[] = [];
      for (let i = 0; i < body.length; i += size) parts.push(body.slice(i, i + size));
      const res = new Response(streamOf(parts), {
        headers: { "content-type": "application/vnd.kubernetes.protobuf" },
      });
      expect(
        new Uint8Array(await (await filterResponse(res, plan)).arrayBuffer()),
        `chunks of ${size}`,
      ).toEqual(want);
    }
    for (let at = 0; at < body.length; at++)
      expect((await filterResponse(protoRes(body.slice(0, at)), plan)).status, `cut at ${at}`).toBe(502);
  });
  test("a protobuf Table or single object is refused; garbage is a 502", async () => {
    expect((await filterResponse(protoRes(list("Table", [])), plan)).status).toBe(406);
    expect((await filterResponse(protoRes(new Uint8Array([1, 2, 3, 4, 5])), plan)).status).toBe(502);
    const cut = list("PodList", [item("d", "web-1"), item("d", "web-2")]);
    expect((await filterResponse(protoRes(cut.subarray(0, cut.length - 5)), plan)).status).toBe(502);
  });
});

describe("JSON watch", () => {
  const ev = (type: string, ns: string, name: string) =>
    `${JSON.stringify({ type, object: { kind: "Pod", metadata: { name, namespace: ns } } })}\n`;
  const stream = (chunks: string[]) =>
    new Response(
      new ReadableStream({
        start(c) {
          for (const ch of chunks) c.enqueue(new TextEncoder().encode(ch));
          c.close();
        },
      }),
      { headers: { "content-type": "application/json" } },
    );
  const watchPlan = { watch: true, allows: allowWeb };

  test("events dropped, ERROR and BOOKMARK pass, lines split across chunks reassembled", async () => {
    const error = `${JSON.stringify({ type: "ERROR", object: { kind: "Status", code: 410 } })}\n`;
    const bookmark = `${JSON.stringify({ type: "BOOKMARK", object: { kind: "Pod", metadata: { resourceVersion: "5" } } })}\n`;
    const all =
      ev("ADDED", "dev", "db") + ev("ADDED", "d", "web-1") + bookmark + ev("MODIFIED", "d", "db") + error;
    const res = await filterResponse(
      stream(["\n", all.slice(0, 50), all.slice(50, 51), all.slice(51)]),
      watchPlan,
    );
    const lines = (await res.text()).split("\n").filter((l) => l.trim());
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(["ADDED", "BOOKMARK", "ERROR"]);
    expect(lines[0]).toContain("web-1");
  });

  test("a stream cut inside an event ends with an ERROR event, not half an event", async () => {
    const res = await filterResponse(
      stream([ev("ADDED", "d", "web-1"), ev("ADDED", "d", "web-2").slice(0, 20)]),
      watchPlan,
    );
    const lines = (await res.text()).split("\n").filter((l) => l.trim());
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(["ADDED", "ERROR"]);
  });

  test("an unreadable event ends the watch with an ERROR event", async () => {
    const res = await filterResponse(
      stream([ev("ADDED", "d", "web-1"), "garbage\n", ev("ADDED", "d", "web-2")]),
      watchPlan,
    );
    const lines = (await res.text()).split("\n").filter((l) => l.trim());
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(["ADDED", "ERROR"]);
  });

  test("Table events (kubectl get -w): rows filtered; the first event's columns survive its row being dropped", async () => {
    const tableEv = (name: string, withColumns: boolean) =>
      `${JSON.stringify({
        type: "ADDED",
        object: {
          kind: "Table",
          apiVersion: "meta.k8s.io/v1",
          metadata: {},
          ...(withColumns ? { columnDefinitions: [{ name: "Name" }] } : {}),
          rows: [
            { cells: [name], object: { kind: "PartialObjectMetadata", metadata: { name, namespace: "d" } } },
          ],
        },
      })}\n`;
    const res = await filterResponse(
      stream([tableEv("db", true), tableEv("web-1", false), tableEv("web-2", false)]),
      watchPlan,
    );
    const events = (await res.text())
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l).object);
    expect(events.map((t) => t.rows[0].cells[0])).toEqual(["web-1", "web-2"]);
    expect(events[0].columnDefinitions).toEqual([{ name: "Name" }]);
    expect(events[1].columnDefinitions).toBeUndefined();
  });
});

describe("the process's budget for filtered lists", () => {
  const enc = new TextEncoder();
  const list = enc.encode(
    JSON.stringify({
      kind: "PodList",
      apiVersion: "v1",
      metadata: {},
      items: [pod("d", "web-1", 5000), pod("d", "web-2", 5000)],
    }),
  );
  /** A budget account that records what filterResponse tells it. */
  const account = () => {
    const a = {
      added: 0,
      closed: 0,
      add(n: number) {
        a.added += n;
      },
      ready: async () => {},
      close() {
        a.closed++;
      },
    };
    return a;
  };

  test("a list read whole counts every byte and gives them back once it is answered", async () => {
    const budget = account();
    await namesOf(await filterResponse(chunked(list, 4096), plan, { budget }));
    expect(budget.added).toBe(list.length);
    expect(budget.closed).toBeGreaterThanOrEqual(1);
  });

  test("a streamed list the client stops reading gives its bytes back", async () => {
    const budget = account();
    const res = await filterResponse(chunked(list, 1024), plan, { budget });
    const reader = res.body!.getReader();
    await reader.read();
    expect(budget.closed).toBe(0);
    await reader.cancel();
    expect(budget.closed).toBeGreaterThanOrEqual(1);
  });

  test("a watch, an error answer or a refused type closes its account at once", async () => {
    for (const [res, p] of [
      [new Response("x", { status: 500 }), plan],
      [chunked(list, 1024), { watch: true, allows: allowWeb }],
      [new Response("x", { headers: { "content-type": "text/plain" } }), plan],
    ] as const) {
      const budget = account();
      const out = await filterResponse(res, p, { budget });
      await out.body?.cancel();
      expect(budget.closed).toBeGreaterThanOrEqual(1);
    }
  });
});
