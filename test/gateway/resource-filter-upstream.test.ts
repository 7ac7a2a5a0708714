// Bad upstream answers to a filtered list, through the gateway over real sockets: a 5,000-item list,
// a 50 MB list, a body cut mid-way (with and without Content-Length) and a type kubeport cannot
// filter — filtered correctly, answered with a Status, or (once filtered items were sent on) a cut
// body the client fails on: never half a list presented as whole. Real kubectl reads the cut one.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import { type KubectlEnv, kubectl, kubectlEnv } from "../helpers/kubectl.ts";
import { startTlsUpstream, type TlsUpstream } from "../helpers/tls-upstream.ts";
import { cluster, startTestGateway, type TestGateway } from "./fixture.ts";

let up: TlsUpstream<undefined>;
let gw: TestGateway;
let token: string;
let kube: KubectlEnv;

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

const DISCOVERY: Record<string, unknown> = {
  "/api": { kind: "APIVersions", versions: ["v1"] },
  "/apis": { kind: "APIGroupList", apiVersion: "v1", groups: [] },
  "/api/v1": {
    kind: "APIResourceList",
    groupVersion: "v1",
    resources: [{ name: "pods", singularName: "pod", namespaced: true, kind: "Pod", verbs: ["get", "list"] }],
  },
};

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
  up = await startTlsUpstream({
    fetch(req) {
      const url = new URL(req.url);
      const json = { "content-type": "application/json" };
      // Discovery, for kubectl: the core group with pods only.
      const discovery = DISCOVERY[url.pathname];
      if (discovery) return Response.json(discovery);
      const c = url.searchParams.get("labelSelector");
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
        case "cut-early":
          // Cut before the first allowed item: nothing was sent on yet.
          return new Response(cutBody(enc.encode(BIG.slice(0, BIG.indexOf('"web-0"')))), { headers: json });
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
    clusters: [cluster("bad", up.url, up.caPem)],
    resources,
  });
  token = await issueUserToken(gw.backend, {
    user: "wendy",
    issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
  });
  kube = kubectlEnv({ server: `${gw.gateway.url}/v1/clusters/bad`, token, caPem: gw.gateway.caPem! });
}, 60_000);

afterAll(async () => {
  kube?.cleanup();
  await gw?.close();
  up?.stop();
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
}, 60_000);

test("a 50 MB list: filtered whole", async () => {
  expect(HUGE.length).toBeGreaterThan(50_000_000);
  const res = await get("huge");
  expect(res.status).toBe(200);
  const body = (await res.json()) as { items: { metadata: { name: string } }[] };
  expect(body.items.length).toBe(500);
  expect(body.items.every((p) => p.metadata.name.startsWith("web-"))).toBe(true);
}, 60_000);

test.each(["cut-sized", "cut-chunked"])(
  "upstream cut mid-body (%s) after allowed items went out: the client's read fails",
  async (c) => {
    const res = await get(c);
    // The first allowed items were on their way before upstream broke off: the answer is cut too.
    expect(res.status).toBe(200);
    let failed = false;
    try {
      await res.text();
    } catch {
      failed = true;
    }
    expect(failed).toBe(true);
  },
  30_000,
);

test("upstream cut before any allowed item: a 502 Status, no item", async () => {
  const res = await get("cut-early");
  expect(res.status).toBe(502);
  const text = await res.text();
  const status = JSON.parse(text) as { kind: string; message: string };
  expect(status.kind).toBe("Status");
  expect(status.message).toContain("does not answer it as a list");
  expect(text).not.toContain("db-1");
});

test.each([
  // The connection ends without the chunked body's end: kubectl reads EOF or a reset, by timing.
  ["cut-chunked", /unexpected EOF|error when reading response body/],
  ["cut-early", /does not answer it as a list/],
])(
  "kubectl get over a list upstream cut (%s): fails, prints no pod",
  async (c, why) => {
    const r = await kubectl(kube, ["get", "pods", "-l", c, "-o", "name"]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(why);
  },
  30_000,
);

test("kubectl get over the 5,000-item list: the 2,500 allowed pods", async () => {
  const r = await kubectl(kube, ["get", "pods", "-l", "big", "-o", "name"]);
  expect(r.stderr).toBe("");
  const names = r.stdout.trim().split("\n");
  expect(names.length).toBe(2500);
  expect(names.every((n) => /^pod\/web-\d+$/.test(n))).toBe(true);
}, 60_000);

test("a type kubeport cannot filter (YAML): refused, the denied item never shown", async () => {
  const res = await get("yaml");
  expect(res.status).toBe(406);
  expect(await res.text()).not.toContain("db-1");
});
