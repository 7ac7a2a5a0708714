// Red team 4 (issue 13's speed work): a filtered list's items are decided in place and their names
// read as one Latin-1 slice when they look like plain ASCII, and kept bytes go out through a direct
// stream. A name the fast read gets wrong — an escape (`\u0064b-0` is `db-0`, `db-\/1` is `db-/1`),
// non-ASCII, a long name, a `name` key inside annotations or spec, a name split across upstream's
// chunks — would let an item a deny rule hides reach the client. Upstream here answers like the API
// server's JSON (Go escapes, unstructured objects' sorted keys) in 7-byte chunks; what reached the
// client is what is judged. No finding: these pass on main as of f50f210 and guard the fast path.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { cluster, startTestGateway, type TestGateway } from "../gateway/fixture.ts";
import { startTlsUpstream, type TlsUpstream } from "../helpers/tls-upstream.ts";
import { resourceRole, user } from "./harness.ts";

/** Items as upstream's JSON spells them (raw text), and the name each decodes to. */
const ITEMS: [raw: string, name: string][] = [
  [`{"metadata":{"name":"web-0","namespace":"default"}}`, "web-0"],
  [`{"metadata":{"name":"\\u0064b-0","namespace":"default"}}`, "db-0"],
  [`{"metadata":{"name":"db-\\/1","namespace":"default"}}`, "db-/1"],
  [`{"metadata":{"name":"db-\u00e9","namespace":"default"}}`, "db-\u00e9"],
  [`{"metadata":{"name":"w\u00e9b","namespace":"default"}}`, "w\u00e9b"],
  [`{"metadata":{"name":"db-${"a".repeat(300)}","namespace":"default"}}`, `db-${"a".repeat(300)}`],
  [
    `{"metadata":{"annotations":{"name":"web-1","x":"\\"name\\":\\"web-2\\""},"name":"db-2","namespace":"default"}}`,
    "db-2",
  ],
  [
    `{"apiVersion":"v1","kind":"Pod","spec":{"name":"web-3"},"metadata":{"namespace":"default","name":"db-3"}}`,
    "db-3",
  ],
  [
    `{"apiVersion":"v1","data":{"metadata":{"name":"web-5","namespace":"default"}},"kind":"Pod","metadata":{"name":"db-5","namespace":"default"}}`,
    "db-5",
  ],
  [`{"metadata":{"name":"db-\ud83d\ude00","namespace":"default"}}`, "db-\ud83d\ude00"],
  [`{"metadata":{"name":"d\\u0062-4","namespace":"d\\u0065fault"}}`, "db-4"],
  [`{"metadata":{"name":"web-9","namespace":"default"}}`, "web-9"],
];
const VISIBLE = ITEMS.map(([, n]) => n).filter((n) => !n.startsWith("db-"));

const listBody = () =>
  `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[${ITEMS.map(([r]) => r).join(",")}]}`;
const tableBody = () =>
  `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"1"},"columnDefinitions":[{"name":"Name","type":"string"}],"rows":[${ITEMS.map(
    ([r, n]) =>
      `{"cells":[${JSON.stringify(n)}],"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",${r.slice(1)}}`,
  ).join(",")}]}`;

/** The body in 7-byte chunks, each its own write (names and escapes split across them). */
function chunked(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + 7));
      at += 7;
      await Bun.sleep(0);
    },
  });
}

let up: TlsUpstream<undefined>;
let gw: TestGateway;
let token: string;
let lists = 0;

beforeAll(async () => {
  up = await startTlsUpstream({
    fetch(req) {
      const u = new URL(req.url);
      if (!u.pathname.endsWith("/pods"))
        return Response.json({ kind: "Pod", metadata: { name: u.pathname } });
      lists++;
      const table = (req.headers.get("accept") ?? "").includes("as=Table");
      return new Response(chunked(table ? tableBody() : listBody()), {
        headers: {
          "content-type": table ? "application/json;as=Table;v=v1;g=meta.k8s.io" : "application/json",
        },
      });
    },
  });
  gw = await startTestGateway({
    realAuth: true,
    clusters: [cluster("c", up.url, up.caPem)],
    resources: [
      resourceRole(
        "all-but-db",
        [{ kind: "pods", namespace: "*", name: "*", verbs: ["get", "list"] }],
        [{ kind: "pods", namespace: "*", name: "db-*", verbs: ["*"] }],
      ),
      user("dana", ["all-but-db"]),
    ],
  });
  token = await issueUserToken(gw.backend, {
    user: "dana",
    issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await up?.stop();
});

test("a JSON list in small chunks: every item whose decoded name a deny rule covers is dropped, whatever its spelling", async () => {
  const before = lists;
  const res = await gw.fetch("/v1/clusters/c/api/v1/namespaces/default/pods", { token });
  const text = await res.text();
  expect(res.status).toBe(200);
  expect(lists).toBe(before + 1);
  const names = (JSON.parse(text) as { items: { metadata: { name: string } }[] }).items.map(
    (i) => i.metadata.name,
  );
  expect(names).toEqual(VISIBLE);
});

test("the same list as a Table (kubectl get): rows by their object's decoded name", async () => {
  const res = await gw.fetch("/v1/clusters/c/api/v1/namespaces/default/pods", {
    token,
    headers: { accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" },
  });
  const text = await res.text();
  expect(res.status).toBe(200);
  const rows = (JSON.parse(text) as { rows: { cells: string[] }[] }).rows.map((r) => r.cells[0]);
  expect(rows).toEqual(VISIBLE);
});
