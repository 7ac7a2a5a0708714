// kubernetes_resources through the gateway, against the simulated EKS API: one object refused before
// anything goes upstream, lists (JSON, Table, protobuf) and watches filtered item by item.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { decodeEnvelope, protoObjectRef } from "../../src/gateway/filter/index.ts";
import { eksCredentials } from "../../src/gateway/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import type { KubeSim } from "../../src/sim/index.ts";
import { startDevProdSim, startTestGateway, type TestGateway, testRoles } from "./fixture.ts";

let sims: Awaited<ReturnType<typeof startDevProdSim>>;
let gw: TestGateway;
let dev: KubeSim;
let wendy: string;
let root: string;
let nora: string;
let olga: string;

const now = new Date().toISOString();
const WEB_ONLY = {
  kind: "pods",
  namespace: "default",
  name: "web-*",
  verbs: ["get", "list", "watch", "exec", "portforward", "delete"],
};
const resources: Resource[] = [
  ...testRoles,
  {
    kind: "role",
    version: "v1",
    metadata: { name: "web-only" },
    spec: {
      allow: {
        kubernetes_labels: { env: "dev" },
        kubernetes_groups: ["developers"],
        kubernetes_resources: [WEB_ONLY],
      },
    },
  },
  // Principals come only from the roles that allow the request: a narrow role with a powerful group
  // (web-admins) and a broad role without kubernetes_resources (readers); a role that allows pods but
  // grants no group, next to one that grants a group for configmaps only.
  role("web-admin", { kubernetes_groups: ["web-admins"], kubernetes_resources: [WEB_ONLY] }),
  role("reader", { kubernetes_groups: ["readers"] }),
  role("pods-nobody", { kubernetes_resources: [{ ...WEB_ONLY, verbs: ["get"] }] }),
  role("cm-reader", {
    kubernetes_groups: ["cm-readers"],
    kubernetes_resources: [{ kind: "configmaps", namespace: "default", name: "*", verbs: ["get", "list"] }],
  }),
  { kind: "user", version: "v1", metadata: { name: "wendy" }, spec: { roles: ["web-only"], created: now } },
  {
    kind: "user",
    version: "v1",
    metadata: { name: "nora" },
    spec: { roles: ["web-admin", "reader"], created: now },
  },
  {
    kind: "user",
    version: "v1",
    metadata: { name: "olga" },
    spec: { roles: ["pods-nobody", "cm-reader"], created: now },
  },
  { kind: "user", version: "v1", metadata: { name: "root" }, spec: { roles: ["admin"], created: now } },
];

function role(name: string, allow: Record<string, unknown>): Resource {
  return {
    kind: "role",
    version: "v1",
    metadata: { name },
    spec: { allow: { kubernetes_labels: { env: "dev" }, ...allow } },
  } as Resource;
}

const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
const PROTO = "application/vnd.kubernetes.protobuf,application/json";
const base = "/v1/clusters/dev-a";

beforeAll(async () => {
  sims = await startDevProdSim();
  dev = sims.dev;
  dev.addPod("default", "db-0");
  dev.addPod("default", "db-1");
  dev.store.addNamespace("dev");
  dev.addPod("dev", "web-7");
  dev.store.addObject({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "web-config", namespace: "default" },
  });
  gw = await startTestGateway({
    realAuth: true,
    credentials: eksCredentials(),
    clusters: sims.clusters,
    resources,
  });
  const issuer = kubeportIssuer({ public_addr: "localhost:3080" });
  wendy = await issueUserToken(gw.backend, { user: "wendy", issuer });
  root = await issueUserToken(gw.backend, { user: "root", issuer });
  nora = await issueUserToken(gw.backend, { user: "nora", issuer });
  olga = await issueUserToken(gw.backend, { user: "olga", issuer });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await sims?.close();
});

const get = (path: string, token = wendy, accept = "application/json", init: RequestInit = {}) =>
  gw.fetch(base + path, { ...init, token, headers: { accept, ...(init.headers ?? {}) } });
const reached = (path: string, method = "GET") =>
  dev.requests().filter((r) => r.path === path && r.method === method).length;
const names = (list: { items: { metadata: { namespace?: string; name: string } }[] }) =>
  list.items.map((i) => `${i.metadata.namespace ?? ""}/${i.metadata.name}`);

describe("one object", () => {
  test("a pod no rule allows is refused before anything goes upstream, in the API server's words", async () => {
    const res = await get("/api/v1/namespaces/default/pods/db-0");
    expect(res.status).toBe(403);
    const status = (await res.json()) as { message: string; reason: string };
    expect(status.reason).toBe("Forbidden");
    expect(status.message).toStartWith(
      'pods "db-0" is forbidden: User "wendy" cannot get resource "pods" in API group "" in the namespace "default"',
    );
    expect(status.message).toContain(
      'no allow.kubernetes_resources rule of your roles ("web-only") allows it',
    );
    expect(status.message).toContain(
      '{kind: pods, api_group: "", namespace: default, name: db-0, verbs: [get]}',
    );
    expect(reached("/api/v1/namespaces/default/pods/db-0")).toBe(0);
  });

  test("a pod the rule allows is served; its logs too (get on the pod)", async () => {
    expect((await get("/api/v1/namespaces/default/pods/web-0")).status).toBe(200);
    expect((await get("/api/v1/namespaces/default/pods/web-0/log")).status).toBe(200);
    expect((await get("/api/v1/namespaces/dev/pods/web-7")).status).toBe(403);
  });

  test("delete, create and exec outside the rule never reach upstream", async () => {
    expect(
      (await get("/api/v1/namespaces/default/pods/db-0", wendy, "application/json", { method: "DELETE" }))
        .status,
    ).toBe(403);
    expect(dev.pods("default").some((p) => p.metadata.name === "db-0")).toBe(true);
    const create = await get("/api/v1/namespaces/default/pods", wendy, "application/json", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "web-new" } }),
    });
    expect(create.status).toBe(403);
    expect(((await create.json()) as { message: string }).message).toContain('pods "web-new" is forbidden');
    expect(reached("/api/v1/namespaces/default/pods", "POST")).toBe(0);
    const exec = await get("/api/v1/namespaces/default/pods/db-0/exec?command=ls&stdout=true", wendy, "*/*", {
      method: "POST",
      headers: { upgrade: "SPDY/3.1", connection: "upgrade" },
    });
    expect(exec.status).toBe(403);
    expect(((await exec.json()) as { message: string }).message).toContain("cannot exec resource");
    expect(reached("/api/v1/namespaces/default/pods/db-0/exec", "POST")).toBe(0);
  });

  test("deletecollection is refused unless every object in scope is allowed", async () => {
    const res = await get("/api/v1/namespaces/default/pods", wendy, "application/json", { method: "DELETE" });
    expect(res.status).toBe(403);
    expect(reached("/api/v1/namespaces/default/pods", "DELETE")).toBe(0);
    expect(dev.pods("default").length).toBeGreaterThanOrEqual(4);
  });
});

describe("lists", () => {
  test("JSON: only web-* pods in default, across all namespaces too", async () => {
    const inDefault = (await (await get("/api/v1/namespaces/default/pods")).json()) as Parameters<
      typeof names
    >[0];
    expect(names(inDefault)).toEqual(["default/web-0", "default/web-1", "default/web-2"]);
    const all = (await (await get("/api/v1/pods")).json()) as Parameters<typeof names>[0];
    expect(names(all)).toEqual(["default/web-0", "default/web-1", "default/web-2"]);
    // The unfiltered list upstream had more.
    expect(dev.pods().length).toBeGreaterThan(3);
  });

  test("Table (kubectl get): rows filtered by their object metadata", async () => {
    const t = (await (await get("/api/v1/namespaces/default/pods", wendy, TABLE)).json()) as {
      kind: string;
      rows: { cells: string[] }[];
    };
    expect(t.kind).toBe("Table");
    expect(t.rows.map((r) => r.cells[0])).toEqual(["web-0", "web-1", "web-2"]);
  });

  test("protobuf: items filtered, the envelope kept", async () => {
    const res = await get("/api/v1/pods", wendy, PROTO);
    expect(res.headers.get("content-type")).toStartWith("application/vnd.kubernetes.protobuf");
    const env = decodeEnvelope(new Uint8Array(await res.arrayBuffer()));
    expect(env.kind).toBe("PodList");
    const items: string[] = [];
    const r = new BinaryReader(env.raw);
    while (r.pos < r.len) {
      const [f, w] = r.tag();
      if (f === 2 && w === WireType.LengthDelimited) {
        const ref = protoObjectRef(r.bytes())!;
        items.push(`${ref.namespace}/${ref.name}`);
      } else r.skip(w);
    }
    expect(items).toEqual(["default/web-0", "default/web-1", "default/web-2"]);
  });

  test("namespaces: only those the user has resources in", async () => {
    const ns = (await (await get("/api/v1/namespaces")).json()) as Parameters<typeof names>[0];
    expect(names(ns)).toEqual(["/default"]);
    const t = (await (await get("/api/v1/namespaces", wendy, TABLE)).json()) as {
      rows: { cells: string[] }[];
    };
    expect(t.rows.map((r) => r.cells[0])).toEqual(["default"]);
    expect((await get("/api/v1/namespaces/default")).status).toBe(200);
    expect((await get("/api/v1/namespaces/kube-system")).status).toBe(403);
  });

  test("a kind no rule names is refused up front: nothing goes upstream", async () => {
    dev.resetRequests();
    const res = await get("/api/v1/namespaces/default/configmaps");
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toStartWith(
      'configmaps is forbidden: User "wendy" cannot list resource "configmaps" in API group "" in the namespace "default"',
    );
    expect(reached("/api/v1/namespaces/default/configmaps")).toBe(0);
  });

  test("a role without kubernetes_resources sees everything, unfiltered (fast path)", async () => {
    const all = (await (await get("/api/v1/pods", root)).json()) as Parameters<typeof names>[0];
    expect(names(all)).toContain("default/db-0");
    expect(names(all)).toContain("dev/web-7");
    expect((await get("/api/v1/namespaces/default/configmaps", root)).status).toBe(200);
  });
});

describe("watches", () => {
  /** Reads a watch until `until` is seen in a line; returns every line. */
  async function readUntil(res: Response, until: string): Promise<string[]> {
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = "";
    const deadline = Date.now() + 20_000;
    while (!text.includes(until) && Date.now() < deadline) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
    await reader.cancel();
    return text.split("\n").filter((l) => l.trim() !== "");
  }

  test("JSON watch: events of pods the user may not see are dropped, ERROR passes", async () => {
    const list = (await (await get("/api/v1/namespaces/default/pods")).json()) as {
      metadata: { resourceVersion: string };
    };
    const res = await get(
      `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
    );
    expect(res.status).toBe(200);
    dev.addPod("default", "db-9");
    dev.addPod("default", "web-9");
    const lines = await readUntil(res, '"web-9"');
    const seen = lines.map(
      (l) => (JSON.parse(l) as { object: { metadata: { name: string } } }).object.metadata.name,
    );
    expect(seen).toContain("web-9");
    expect(seen).not.toContain("db-9");
  });

  test("protobuf watch: frames of pods the user may not see are dropped", async () => {
    const res = await get("/api/v1/namespaces/default/pods?watch=true&resourceVersion=0", wendy, PROTO);
    expect(res.headers.get("content-type")).toContain("stream=watch");
    const reader = res.body!.getReader();
    let buf = new Uint8Array(0);
    const seen: string[] = [];
    const deadline = Date.now() + 20_000;
    while (!seen.includes("web-0") && Date.now() < deadline) {
      const { done, value } = await reader.read();
      if (done) break;
      const joined = new Uint8Array(buf.length + value.length);
      joined.set(buf);
      joined.set(value, buf.length);
      buf = joined;
      while (buf.length >= 4) {
        const len = new DataView(buf.buffer, buf.byteOffset).getUint32(0);
        if (buf.length < 4 + len) break;
        const ev = decodeEnvelope(buf.subarray(4, 4 + len));
        const r = new BinaryReader(ev.raw);
        while (r.pos < r.len) {
          const [f, w] = r.tag();
          if (f === 2 && w === WireType.LengthDelimited) {
            const ext = new BinaryReader(r.bytes());
            ext.tag();
            seen.push(protoObjectRef(decodeEnvelope(ext.bytes()).raw)!.name);
          } else r.skip(w);
        }
        buf = buf.slice(4 + len);
      }
    }
    await reader.cancel();
    expect(seen).toContain("web-0");
    expect(seen.filter((n) => !n.startsWith("web-"))).toEqual([]);
  });
});

describe("impersonated groups come only from the roles that allow the request", () => {
  /** The groups the simulated API server saw on the last request to `path`. */
  async function groupsUpstream(path: string, token: string, method = "GET"): Promise<string[]> {
    dev.resetRequests();
    const res = await get(path, token, "application/json", { method });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const seen = dev.requests().filter((r) => r.path === path && r.method === method);
    expect(seen.length).toBe(1);
    return [...(seen[0]!.groups ?? [])].sort();
  }

  test("an object only the broad role allows: its group only, not the narrow role's", async () => {
    expect(await groupsUpstream("/api/v1/namespaces/default/configmaps/web-config", nora)).toEqual([
      "readers",
      "system:authenticated",
    ]);
    expect(await groupsUpstream("/api/v1/namespaces/dev/pods/web-7", nora)).toEqual([
      "readers",
      "system:authenticated",
    ]);
  });

  test("an object both roles allow: both groups", async () => {
    expect(await groupsUpstream("/api/v1/namespaces/default/pods/web-0", nora)).toEqual([
      "readers",
      "system:authenticated",
      "web-admins",
    ]);
  });

  test("lists: the groups of the roles that could allow something in them", async () => {
    expect(await groupsUpstream("/api/v1/namespaces/default/pods", nora)).toEqual([
      "readers",
      "system:authenticated",
      "web-admins",
    ]);
    expect(await groupsUpstream("/api/v1/namespaces/default/configmaps", nora)).toEqual([
      "readers",
      "system:authenticated",
    ]);
    expect(await groupsUpstream("/api/v1/namespaces/default/configmaps", olga)).toEqual([
      "cm-readers",
      "system:authenticated",
    ]);
  });

  test("requests about no object (discovery) keep every role's groups", async () => {
    expect(await groupsUpstream("/api/v1", nora)).toEqual(["readers", "system:authenticated", "web-admins"]);
  });

  test("allowed only by a role that grants no group or user: refused, nothing upstream", async () => {
    dev.resetRequests();
    const res = await get("/api/v1/namespaces/default/pods/web-0", olga);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toContain(
      'the roles of user "olga" whose kubernetes_resources allow this request ("pods-nobody") grant no kubernetes groups or users',
    );
    expect(reached("/api/v1/namespaces/default/pods/web-0")).toBe(0);
  });
});

describe("SelfSubjectAccessReview (kubectl auth can-i) answered from kubernetes_resources", () => {
  const SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
  const review = (spec: unknown, token = wendy) =>
    get(SSAR, token, "application/json", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec }),
    });
  const upstreamReviews = () => dev.requests().filter((r) => r.path === SSAR && r.method === "POST");

  test("refused by the rules: 201, allowed false, denied true, the reason; nothing upstream", async () => {
    dev.resetRequests();
    const res = await review({
      resourceAttributes: { namespace: "default", verb: "get", resource: "pods", name: "db-0" },
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as {
      kind: string;
      spec: unknown;
      status: { allowed: boolean; denied: boolean; reason: string };
    };
    expect(body.kind).toBe("SelfSubjectAccessReview");
    expect(body.spec).toEqual({
      resourceAttributes: { namespace: "default", verb: "get", resource: "pods", name: "db-0" },
    });
    expect(body.status.allowed).toBe(false);
    expect(body.status.denied).toBe(true);
    expect(body.status.reason).toContain('pods "db-0" is forbidden: User "wendy" cannot get resource "pods"');
    expect(body.status.reason).not.toContain("\n");
    expect(upstreamReviews().filter((r) => r.user === "wendy").length).toBe(0);
  });

  test("allowed by the rules, or about a URL: upstream answers, as the roles that allow it", async () => {
    dev.resetRequests();
    const allowed = await review(
      {
        resourceAttributes: { namespace: "default", verb: "get", resource: "configmaps", name: "x" },
      },
      nora,
    );
    expect(allowed.status).toBe(201);
    expect(((await allowed.json()) as { status: { allowed: boolean } }).status.allowed).toBe(true);
    const url = await review({ nonResourceAttributes: { path: "/logs", verb: "get" } });
    expect(url.status).toBe(201);
    const seen = upstreamReviews().filter((r) => r.user === "nora" || r.user === "wendy");
    expect(seen.map((r) => [r.user, [...(r.groups ?? [])].sort()])).toEqual([
      ["nora", ["readers", "system:authenticated"]],
      ["wendy", ["developers", "system:authenticated"]],
    ]);
  });

  test("a review kubeport cannot read is refused, never forwarded unchecked", async () => {
    dev.resetRequests();
    const typed = await review({ resourceAttributes: { verb: "get", resource: "pods", name: 5 } });
    expect(typed.status).toBe(400);
    expect(((await typed.json()) as { message: string }).message).toContain(
      "spec.resourceAttributes.name is not a string",
    );
    const empty = await review({});
    expect(empty.status).toBe(400);
    // Protobuf with resourceAttributes twice (the API server would merge them): refused.
    const ra = (fields: [number, string][]) =>
      fields.flatMap(([n, v]) => [(n << 3) | 2, v.length, ...new TextEncoder().encode(v)]);
    const a = ra([[7, "db-0"]]);
    const b = ra([
      [1, "default"],
      [2, "get"],
      [5, "pods"],
    ]);
    const spec = [10, a.length, ...a, 10, b.length, ...b];
    const raw = [18, spec.length, ...spec];
    const kind = "SelfSubjectAccessReview";
    const typeMeta = [18, kind.length, ...new TextEncoder().encode(kind)];
    const body = Uint8Array.from([
      0x6b,
      0x38,
      0x73,
      0,
      10,
      typeMeta.length,
      ...typeMeta,
      18,
      raw.length,
      ...raw,
    ]);
    const twice = await get(SSAR, wendy, "application/json", {
      method: "POST",
      headers: { "content-type": "application/vnd.kubernetes.protobuf" },
      body,
    });
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as { message: string }).message).toContain("appears twice");
    expect(upstreamReviews().filter((r) => r.user === "wendy").length).toBe(0);
  });
});
