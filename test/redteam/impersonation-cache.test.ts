// Red team 4 (issue 15's CPU per GET): the upstream credential and impersonation headers are built
// once per grant's plan and reused (forward/headers.ts fixedHeaders, middleware.ts impersonationOf).
// A cache like that must not outlive what it was built from: once the gateway has seen a role edit
// that changes kubernetes_groups/kubernetes_users, a renewed upstream credential, or the user's
// removal or a lock on them, no later request may reach the cluster with the old identity or the old credential.
// No finding: passes on main as of dae21f1 and guards the caches.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import type { UpstreamCredentials } from "../../src/gateway/upstream/credentials.ts";
import type { Resource } from "../../src/registry/index.ts";
import { cluster, startTestGateway, type TestGateway } from "../gateway/fixture.ts";
import { type RecordingUpstream, startRecordingUpstream, user } from "./harness.ts";

let up: RecordingUpstream;
let gw: TestGateway;
let token: string;
let credential = "first-credential";
const credentials: UpstreamCredentials = {
  authorization: async () => `Bearer ${credential}`,
  current: () => `Bearer ${credential}`,
};
const POD = "/v1/clusters/c/api/v1/namespaces/default/pods/web-0";

const role = (groups: string[], users: string[] = []): Resource =>
  ({
    kind: "role",
    version: "v1",
    metadata: { name: "devs" },
    spec: {
      allow: { kubernetes_labels: { env: "dev" }, kubernetes_groups: groups, kubernetes_users: users },
    },
  }) as Resource;

/** What one request's upstream copy carried: user, groups (each line), credential. */
async function identityUpstream(): Promise<{
  status: number;
  user?: string;
  groups?: string;
  auth?: string;
}> {
  const from = up.hits.length;
  const res = await gw.fetch(POD, { token });
  await res.text();
  const hit = up.hits.slice(from).find((h) => h.path === "/api/v1/namespaces/default/pods/web-0");
  if (!hit) return { status: res.status };
  return {
    status: res.status,
    user: hit.headers.get("impersonate-user") ?? "",
    groups: hit.headers.get("impersonate-group") ?? "",
    auth: hit.headers.get("authorization") ?? "",
  };
}

type Seen = Awaited<ReturnType<typeof identityUpstream>>;

/** Requests until one's upstream copy satisfies `done` (the gateway sees registry changes by polling). */
async function until(done: (a: Seen) => boolean, ms = 45_000): Promise<Seen> {
  const end = Date.now() + ms;
  let a = await identityUpstream();
  while (!done(a) && Date.now() < end) {
    await Bun.sleep(50);
    a = await identityUpstream();
  }
  return a;
}

beforeAll(async () => {
  up = await startRecordingUpstream();
  gw = await startTestGateway({
    realAuth: true,
    clusters: [cluster("c", up.url, up.caPem)],
    credentials,
    resources: [role(["developers"]), user("ann", ["devs"])],
  });
  token = await issueUserToken(gw.backend, {
    user: "ann",
    issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await up?.close();
});

test("a role edit that changes the impersonated groups and user: no request after it carries the old ones", async () => {
  expect(await identityUpstream()).toEqual({
    status: 200,
    user: "ann",
    groups: "developers",
    auth: "Bearer first-credential",
  });
  await gw.backend.put(role(["viewers"], ["view-sa"]));
  const last = await until((a) => a.groups === "viewers");
  const after = await Promise.all(Array.from({ length: 10 }, () => identityUpstream()));
  for (const a of [last, ...after])
    expect(a).toEqual({ status: 200, user: "view-sa", groups: "viewers", auth: "Bearer first-credential" });

  // Two groups: sent as separate lines (node:https), still with our credential and the new user.
  await gw.backend.put(role(["viewers", "auditors"], ["view-sa"]));
  expect(await until((a) => a.groups?.includes("auditors") === true)).toEqual({
    status: 200,
    user: "view-sa",
    groups: "auditors, viewers",
    auth: "Bearer first-credential",
  });
}, 60_000);

test("a renewed upstream credential is on the very next request", async () => {
  await gw.backend.put(role(["developers"]));
  expect((await until((a) => a.groups === "developers")).groups).toBe("developers");
  credential = "second-credential";
  expect(await identityUpstream()).toEqual({
    status: 200,
    user: "ann",
    groups: "developers",
    auth: "Bearer second-credential",
  });
}, 60_000);

test("a lock on the user: once refused, nothing more of theirs reaches the cluster; lifted, they are back", async () => {
  const lock = {
    kind: "lock",
    version: "v1",
    metadata: { name: "lock-ann" },
    spec: { target: { user: "ann" }, message: "incident 7" },
  } as Resource;
  await gw.backend.put(lock);
  expect((await until((a) => a.status !== 200)).status).toBe(403);
  const after = await Promise.all(Array.from({ length: 10 }, () => identityUpstream()));
  expect(after).toEqual(Array(10).fill({ status: 403 }));
  await gw.backend.delete("lock", "lock-ann");
  expect((await until((a) => a.status === 200)).status).toBe(200);
}, 60_000);

test("a removed user: once refused, nothing more of theirs reaches the cluster", async () => {
  await gw.backend.delete("user", "ann");
  expect((await until((a) => a.status !== 200)).status).toBe(401);
  const after = await Promise.all(Array.from({ length: 10 }, () => identityUpstream()));
  expect(after).toEqual(Array(10).fill({ status: 401 }));
}, 60_000);
