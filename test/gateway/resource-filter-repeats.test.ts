// A filtered list, Table or watch whose objects repeat a member the filter decides on. Go's decoders
// keep the LAST of two equal keys (kubectl shows the second `name`), and encoding/json also matches
// a key in another case (`Name`) or once escaped (`n\u0061me`). A filter that read the first would
// check another name than the client shows: an item a deny rule hides would pass. Upstream here (an
// aggregated API server could answer so) sends such objects, whole and in 7-byte chunks; what reached
// the client is judged as JSON.parse reads it (last wins, as Go), and nothing the role denies may be
// in it. Every such item is dropped (fail closed); a watch event of that shape ends the watch.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { createCa, issueServerCert } from "../../src/lib/x509.ts";
import type { Resource } from "../../src/registry/index.ts";
import { cluster, startTestGateway, type TestGateway } from "./fixture.ts";

/** Items as upstream's JSON spells them: the first two are plain (one shown, one denied). */
const ITEMS: [raw: string, why: string][] = [
  [`{"metadata":{"name":"web-ok","namespace":"default"}}`, "plain, allowed"],
  [`{"metadata":{"name":"db-x","namespace":"default"}}`, "plain, denied"],
  [`{"metadata":{"name":"web-a","namespace":"default","name":"db-a"}}`, "two names"],
  [
    `{"metadata":{"name":"web-b","namespace":"default"},"metadata":{"name":"db-b","namespace":"default"}}`,
    "two metadata",
  ],
  [`{"metadata":{"name":"web-c","n\\u0061me":"db-c","namespace":"default"}}`, "an escaped second name"],
  [`{"metadata":{"name":"web-d","Name":"db-d","namespace":"default"}}`, "a second name in another case"],
  [`{"metadata":{"name":"web-e","namespace":"default","namespace":"kube-system"}}`, "two namespaces"],
  [
    `{"Metadata":{"name":"db-f","namespace":"default"},"metadata":{"name":"web-f","namespace":"default"}}`,
    "Metadata",
  ],
  [`{"metadata":{"name":"web-g","namespace":"default","nameſpace":"kube-system"}}`, "a folded namespace key"],
];

const listBody = () =>
  `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[${ITEMS.map(([r]) => r).join(",")}]}`;
const row = (object: string) => `{"cells":["x"],"object":${object}}`;
const tableBody = () =>
  `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"1"},"columnDefinitions":[{"name":"Name","type":"string"}],"rows":[${[
    ...ITEMS.map(([r]) => row(r)),
    // Two objects in one row.
    `{"cells":["x"],"object":{"metadata":{"name":"web-h","namespace":"default"}},"object":{"metadata":{"name":"db-h","namespace":"default"}}}`,
  ].join(",")}]}`;
/** Watch events: a plain one first (it must pass), then each shape that would show another object. */
const WATCH_EVENTS = [
  `{"type":"ADDED","object":{"metadata":{"name":"web-ok","namespace":"default"}}}`,
  ...ITEMS.slice(1).map(([r]) => `{"type":"ADDED","object":${r}}`),
  `{"type":"ADDED","object":{"metadata":{"name":"web-i","namespace":"default"}},"object":{"metadata":{"name":"db-i","namespace":"default"}}}`,
  `{"type":"BOOKMARK","object":{"metadata":{"name":"db-j","namespace":"default"}},"type":"ADDED"}`,
];

/** What a client (or kubectl, reading as Go does) would take the object for. */
const refOf = (o: { metadata?: { name?: string; namespace?: string } }) =>
  `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
/** The role: pods in default, but not db-*. */
const allowed = (ref: string) => ref.startsWith("default/") && !ref.startsWith("default/db-");

function body(text: string, chunk: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
      await Bun.sleep(0);
    },
  });
}

let up: ReturnType<typeof Bun.serve>;
let gw: TestGateway;
let token: string;
let asked = 0;

beforeAll(async () => {
  const ca = await createCa("repeated members CA");
  const kp = await issueServerCert(ca, {
    commonName: "up",
    ipAddresses: ["127.0.0.1"],
    dnsNames: ["localhost"],
  });
  up = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: kp.certPem, key: kp.keyPem },
    fetch(req) {
      const u = new URL(req.url);
      if (!u.pathname.endsWith("/pods"))
        return Response.json({ kind: "Pod", metadata: { name: u.pathname } });
      asked++;
      // The chunk size rides on labelSelector (passed upstream as it is): 7 bytes or the whole body.
      const chunk = u.searchParams.get("labelSelector") === "small" ? 7 : 1 << 20;
      if (u.searchParams.get("watch") === "true")
        return new Response(body(`${WATCH_EVENTS.join("\n")}\n`, chunk), {
          headers: { "content-type": "application/json" },
        });
      const table = (req.headers.get("accept") ?? "").includes("as=Table");
      return new Response(body(table ? tableBody() : listBody(), chunk), {
        headers: {
          "content-type": table ? "application/json;as=Table;v=v1;g=meta.k8s.io" : "application/json",
        },
      });
    },
  });
  gw = await startTestGateway({
    realAuth: true,
    clusters: [cluster("c", `https://127.0.0.1:${up.port}`, ca.certPem)],
    resources: [
      {
        kind: "role",
        version: "v1",
        metadata: { name: "default-but-db" },
        spec: {
          allow: {
            kubernetes_labels: { env: "dev" },
            kubernetes_groups: ["developers"],
            kubernetes_resources: [
              { kind: "pods", namespace: "default", name: "*", verbs: ["get", "list", "watch"] },
            ],
          },
          deny: { kubernetes_resources: [{ kind: "pods", namespace: "*", name: "db-*", verbs: ["*"] }] },
        },
      } as Resource,
      {
        kind: "user",
        version: "v1",
        metadata: { name: "dana" },
        spec: { roles: ["default-but-db"], created: new Date().toISOString() },
      } as Resource,
    ],
  });
  token = await issueUserToken(gw.backend, {
    user: "dana",
    issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await up?.stop(true);
});

const PODS = "/v1/clusters/c/api/v1/namespaces/default/pods";

for (const size of ["small", "whole"]) {
  test(`a JSON list (${size} chunks): no item shows a name the filter did not check`, async () => {
    const before = asked;
    const res = await gw.fetch(`${PODS}?labelSelector=${size}`, { token });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(asked).toBe(before + 1);
    const refs = (JSON.parse(text) as { items: { metadata: { name: string } }[] }).items.map(refOf);
    expect(refs).toEqual(["default/web-ok"]);
  });

  test(`the same list as a Table (${size} chunks), and a row with two objects`, async () => {
    const res = await gw.fetch(`${PODS}?labelSelector=${size}`, {
      token,
      headers: { accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" },
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    const refs = (JSON.parse(text) as { rows: { object: { metadata: { name: string } } }[] }).rows.map((r) =>
      refOf(r.object),
    );
    expect(refs).toEqual(["default/web-ok"]);
  });

  test(`a watch (${size} chunks): no event shows an object the filter did not check`, async () => {
    const res = await gw.fetch(`${PODS}?watch=true&labelSelector=${size}`, { token });
    expect(res.status).toBe(200);
    const events = (await res.text())
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { type: string; object: { metadata?: { name?: string } } });
    expect(events[0]).toMatchObject({ type: "ADDED", object: { metadata: { name: "web-ok" } } });
    for (const e of events.slice(1)) {
      if (e.type === "ERROR") continue;
      expect(allowed(refOf(e.object)), JSON.stringify(e)).toBe(true);
    }
  });
}
