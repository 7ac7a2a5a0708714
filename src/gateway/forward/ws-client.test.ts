import { afterAll, expect, test } from "bun:test";
import { connectWs, UpgradeRefused } from "./ws-client.ts";

const server = Bun.serve<string>({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req, srv) {
    if (new URL(req.url).pathname === "/refuse") {
      return Response.json({ kind: "Status", code: 403, message: "nope" }, { status: 403 });
    }
    const seen = new URL(req.url).pathname === "/burst" ? "burst" : (req.headers.get("x-multi") ?? "");
    return srv.upgrade(req, {
      data: seen,
      headers: new Headers({ "Sec-WebSocket-Protocol": "v5.channel.k8s.io" }),
    })
      ? undefined
      : new Response("no", { status: 400 });
  },
  websocket: {
    open(ws) {
      // "/burst": answer and close at once, so frames ride in the same packet as the 101.
      if (ws.data === "burst") {
        ws.send(new Uint8Array([1, 104, 105]));
        ws.close(1000, "bye");
      }
    },
    message(ws, m) {
      if (m === "headers") ws.send(String(ws.data));
      else if (m === "close") ws.close(4002, "done");
      else ws.send(m);
    },
  },
});
afterAll(() => server.stop(true));
const url = (p: string) => `ws://127.0.0.1:${server.port}${p}`;

test("echoes text and binary of every size with boundaries kept, and reports the close code", async () => {
  const c = await connectWs({
    url: url("/x"),
    headers: [["X-Multi", "a"]],
    protocols: ["v5.channel.k8s.io"],
  });
  expect(c.protocol).toBe("v5.channel.k8s.io");
  const got: (string | Uint8Array)[] = [];
  const closed = new Promise<[number, string]>((r) => (c.onClose = (code, reason) => r([code, reason])));
  c.onMessage = (d) => got.push(d);
  c.start();
  const sizes = [0, 1, 3, 125, 126, 65535, 65536, 200_001];
  for (const n of sizes) c.send(Uint8Array.from({ length: n }, (_, i) => (i * 7) & 255));
  c.send("héllo");
  for (let i = 0; i < 200 && got.length < sizes.length + 1; i++) await Bun.sleep(10);
  expect(got.slice(0, sizes.length).map((d) => (d as Uint8Array).length)).toEqual(sizes);
  expect((got[6] as Uint8Array)[65535]).toBe((65535 * 7) & 255);
  expect(got.at(-1)).toBe("héllo");
  c.send("close");
  expect(await closed).toEqual([4002, "done"]);
});

test("a refusal carries the status and body", async () => {
  const err = await connectWs({ url: url("/refuse"), headers: [], protocols: ["v5.channel.k8s.io"] }).catch(
    (e) => e,
  );
  expect(err).toBeInstanceOf(UpgradeRefused);
  expect(err.status).toBe(403);
  expect(JSON.parse(err.body)).toMatchObject({ kind: "Status", message: "nope" });
});

test("header values with line breaks are refused before anything is sent", async () => {
  await expect(
    connectWs({ url: url("/x"), headers: [["X", "a\r\nInjected: 1"]], protocols: [] }),
  ).rejects.toThrow("invalid header");
});

test("holds frames and the close that arrive with the 101 until start()", async () => {
  const c = await connectWs({ url: url("/burst"), headers: [], protocols: ["v5.channel.k8s.io"] });
  await Bun.sleep(50); // let the burst land before any handler exists
  const got: (string | Uint8Array)[] = [];
  const closed = new Promise<[number, string]>((r) => (c.onClose = (code, reason) => r([code, reason])));
  c.onMessage = (d) => got.push(d);
  c.start();
  expect(await closed).toEqual([1000, "bye"]);
  expect(got).toEqual([new Uint8Array([1, 104, 105])]);
});

test("frames split across chunks at every byte, empty payloads and a bare close are read whole", async () => {
  const { createHash } = await import("node:crypto");
  const frame = (op: number, payload: number[]) => {
    const n = payload.length;
    const head = n < 126 ? [0x80 | op, n] : [0x80 | op, 126, n >> 8, n & 255];
    return [...head, ...payload];
  };
  const big = Array.from({ length: 300 }, (_, i) => i & 255);
  const stream = [
    ...frame(0x2, [1, 2, 3]),
    ...frame(0x2, []),
    ...frame(0x9, [7]), // a ping in between: answered, not delivered
    ...frame(0x2, big),
    ...frame(0x1, [...Buffer.from("ok")]),
    ...frame(0x8, []), // close without a code
  ];
  const raw = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async data(s, d) {
        const key = /Sec-WebSocket-Key: (.+)\r\n/.exec(d.toString())?.[1];
        if (!key) return;
        const accept = createHash("sha1")
          .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
          .digest("base64");
        s.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        for (const b of stream) {
          s.write(new Uint8Array([b]));
          s.flush();
          await Bun.sleep(0);
        }
      },
    },
  });
  try {
    const c = await connectWs({ url: `ws://127.0.0.1:${raw.port}/`, headers: [], protocols: [] });
    const got: (string | number[])[] = [];
    const closed = new Promise<[number, string]>((r) => (c.onClose = (code, reason) => r([code, reason])));
    c.onMessage = (d) => got.push(typeof d === "string" ? d : [...d]);
    c.start();
    expect(await closed).toEqual([1005, ""]);
    expect(got).toEqual([[1, 2, 3], [], big, "ok"]);
  } finally {
    raw.stop(true);
  }
});
