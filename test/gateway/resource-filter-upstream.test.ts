// Bad upstream answers to a filtered list, through the gateway over real sockets: a 5,000-item list,
// a 50 MB list, a body cut mid-way (with and without Content-Length) and a type kubeport cannot
// filter — filtered correctly or answered with a Status, never half a list presented as whole.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { createCa, issueServerCert } from "../../src/lib/x509.ts";
import type { Resource } from "../../src/registry/index.ts";
import { cluster, startTestGateway, type TestGateway } from "./fixture.ts";

let up: ReturnType<typeof Bun.serve>;
let gw: TestGateway;
let token: string;

const pod = (i: number, pad = 0) => ({
  metadata: {
    name: `${i % 2 ? "db" : "web"}-${i}`,
    namespace: "default",
    annotations: { pad: "x".repeat(pad) },
  },
  spec: { containers: [{ name: "main", image: "nginx" }] },
});
const list = (n: number, pad = 0) =>
  JSON.stringify({
    kind: "PodList",
    apiVersion: "v1",
    metadata: { resourceVersion: "7" },
    items: Array.from({ length: n }, (_, i) => pod(i, pad)),
  });
const BIG = list(5000);
const HUGE = list(1000, 50_000);
const enc = new TextEncoder();

/** A body that sends `bytes` and then breaks the connection. */
function cutBody(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async start(c) {
      c.enqueue(bytes);
      await Bun.sleep(50);
      c.error(new Error("upstream died"));
    },
  });
}

beforeAll(async () => {
  const ca = await createCa("bad upstream CA");
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
      const c = new URL(req.url).searchParams.get("labelSelector");
      const json = { "content-type": "application/json" };
      const half = enc.encode(BIG.slice(0, BIG.length / 2));
      switch (c) {
        case "big":
          return new Response(BIG, { headers: json });
        case "huge":
          return new Response(HUGE, { headers: json });
        case "cut-sized":
          return new Response(cutBody(half), { headers: { ...json, "content-length": String(BIG.length) } });
        case "cut-chunked":
          return new Response(cutBody(half), { headers: json });
        case "yaml":
          return new Response("kind: PodList\nitems:\n- metadata: {name: db-1, namespace: default}\n", {
            headers: { "content-type": "application/yaml" },
          });
        default:
          return new Response("{}", { headers: json });
      }
    },
  });
  const now = new Date().toISOString();
  const resources: Resource[] = [
    {
      kind: "role",
      version: "v1",
      metadata: { name: "web" },
      spec: {
        allow: {
          kubernetes_labels: { env: "dev" },
          kubernetes_groups: ["developers"],
          kubernetes_resources: [{ kind: "pods", namespace: "default", name: "web-*", verbs: ["list"] }],
        },
      },
    },
    { kind: "user", version: "v1", metadata: { name: "wendy" }, spec: { roles: ["web"], created: now } },
  ];
  gw = await startTestGateway({
    realAuth: true,
    clusters: [cluster("bad", `https://127.0.0.1:${up.port}`, ca.certPem)],
    resources,
  });
  token = await issueUserToken(gw.backend, {
    user: "wendy",
    issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
  });
}, 30_000);

afterAll(async () => {
  await gw?.close();
  up?.stop(true);
});

const get = (c: string) =>
  gw.fetch(`/v1/clusters/bad/api/v1/namespaces/default/pods?labelSelector=${c}`, { token });

test("a 5,000-item list: exactly the allowed 2,500, in order", async () => {
  const res = await get("big");
  expect(res.status).toBe(200);
  const body = (await res.json()) as { items: { metadata: { name: string } }[]; metadata: unknown };
  expect(body.items.length).toBe(2500);
  expect(body.items.every((p, k) => p.metadata.name === `web-${2 * k}`)).toBe(true);
  expect(body.metadata).toEqual({ resourceVersion: "7" });
}, 30_000);

test("a 50 MB list: filtered whole", async () => {
  expect(HUGE.length).toBeGreaterThan(50_000_000);
  const res = await get("huge");
  expect(res.status).toBe(200);
  const body = (await res.json()) as { items: { metadata: { name: string } }[] };
  expect(body.items.length).toBe(500);
  expect(body.items.every((p) => p.metadata.name.startsWith("web-"))).toBe(true);
}, 60_000);

test.each(["cut-sized", "cut-chunked"])(
  "upstream cut mid-body (%s): a 502 Status, no item of the half list",
  async (c) => {
    const res = await get(c);
    expect(res.status).toBe(502);
    const text = await res.text();
    const status = JSON.parse(text) as { kind: string; message: string };
    expect(status.kind).toBe("Status");
    expect(status.message).toContain("no part of the list is shown");
    expect(text).not.toContain("web-0");
  },
  30_000,
);

test("a type kubeport cannot filter (YAML): refused, the denied item never shown", async () => {
  const res = await get("yaml");
  expect(res.status).toBe(406);
  expect(await res.text()).not.toContain("db-1");
});
