// Failure isolation: a throttled or denied (account, region) keeps its clusters; others reconcile.
import { afterEach, expect, test } from "bun:test";
import type { DiscoveryStatus } from "../../src/registry/index.ts";
import { type Harness, makeConfig, names, startHarness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ACC = "111111111111";

test("throttling in one region and AccessDenied in another delete nothing there; other regions still reconcile", async () => {
  h = await startHarness(
    {
      clusters: [
        { name: "east-1", region: "us-east-1" },
        { name: "east-2", region: "us-east-1" },
        { name: "eu-1", region: "eu-west-1" },
        { name: "eu-2", region: "eu-west-1" },
        { name: "ap-1", region: "ap-south-1" },
        { name: "sa-1", region: "sa-east-1" },
      ],
    },
    makeConfig({
      group: "g",
      matchers: [
        { regions: ["us-east-1", "eu-west-1", "ap-south-1", "sa-east-1"], tags: {}, setup_access: false },
      ],
    }),
  );
  const { sim, service, clusters, backend } = h;
  const s = service();
  await s.pollOnce();
  expect(names(await clusters())).toEqual(["ap-1", "east-1", "east-2", "eu-1", "eu-2", "sa-1"]);

  sim.state.injectFault({ region: "eu-west-1", kind: "throttle" });
  sim.state.injectFault({ region: "ap-south-1", action: "eks:ListClusters", kind: "denied" });
  for (const [region, name] of [
    ["us-east-1", "east-2"],
    ["eu-west-1", "eu-2"],
    ["ap-south-1", "ap-1"],
    ["sa-east-1", "sa-1"],
  ] as const) {
    sim.state.deleteCluster(ACC, region, name);
  }
  await sim.state.addCluster({ name: "east-3", region: "us-east-1" });

  const r = await s.pollOnce();
  expect(r.failedScopes).toEqual([`${ACC}/ap-south-1`, `${ACC}/eu-west-1`]);
  expect(r).toMatchObject({ created: 1, deleted: 2 });
  // eu-2 and ap-1 are gone in AWS but their regions failed: kept. sa-1 is gone and sa-east-1 listed fine.
  expect(names(await clusters())).toEqual(["ap-1", "east-1", "east-3", "eu-1", "eu-2"]);

  const status = (await backend.get("discovery_status", "g")) as DiscoveryStatus;
  const rows = Object.fromEntries(status.spec.scopes.map((row) => [row.region, row]));
  expect(rows["eu-west-1"]?.error).toContain("Throttling");
  expect(rows["ap-south-1"]?.error).toContain("AccessDenied");
  expect(rows["us-east-1"]).toMatchObject({ clusters: 2 });
  expect(rows["us-east-1"]?.error).toBeUndefined();

  // The SDK's retry rides out a short throttle burst. A counted burst, not a random rate: at 30%
  // with 5 attempts a call fails outright 0.3^5 = 0.24% of the time, ~0.5% a poll (2 calls there).
  sim.state.clearFaults();
  sim.state.resetCalls();
  sim.state.injectFault({ region: "eu-west-1", kind: "throttle", count: 3 });
  const again = await s.pollOnce();
  sim.state.clearFaults();
  expect(again.failedScopes).toEqual([]);
  // The burst really hit: ListClusters answered 429 three times, then went through (retried, not skipped).
  const eu = sim.state.calls().filter((c) => c.region === "eu-west-1");
  expect(eu.map((c) => `${c.action} ${c.status}`)).toEqual([
    "eks:ListClusters 429",
    "eks:ListClusters 429",
    "eks:ListClusters 429",
    "eks:ListClusters 200",
    "eks:DescribeCluster 200",
  ]);
  expect(names(await clusters())).toEqual(["east-1", "east-3", "eu-1"]);
}, 60_000);

test("deletions are decided per cluster: one DescribeCluster failing keeps only that cluster", async () => {
  h = await startHarness(
    {
      clusters: [
        { name: "a", region: "us-east-1" },
        { name: "b", region: "us-east-1" },
        { name: "c", region: "us-east-1" },
      ],
    },
    makeConfig({ matchers: [{ tags: {}, setup_access: false }] }),
  );
  const s = h.service();
  await s.pollOnce();
  expect(names(await h.clusters())).toEqual(["a", "b", "c"]);
  // b is deleted in AWS; a's DescribeCluster fails; a also went DELETING (unknown to us).
  h.sim.state.deleteCluster(ACC, "us-east-1", "b");
  h.sim.state.setStatus(ACC, "us-east-1", "a", "DELETING");
  const id = h.sim.state.injectFault({ region: "us-east-1", cluster: "a", kind: "down" });
  const r = await s.pollOnce();
  expect(r.failedScopes).toEqual([`${ACC}/us-east-1`]);
  expect(r.scopes[0]?.error).toContain("DescribeCluster a: ServiceUnavailableException");
  // b is absent from a complete ListClusters: deleted. a could not be described: kept as it was.
  expect(r.deleted).toBe(1);
  expect(names(await h.clusters())).toEqual(["a", "c"]);
  h.sim.state.removeFault(id);
  await s.pollOnce();
  expect(names(await h.clusters())).toEqual(["c"]);
}, 60_000);

const ROLE = "arn:aws:iam::222222222222:role/kubeport-discovery";
const accounts = [
  {
    id: ACC,
    principals: [
      {
        arn: `arn:aws:iam::${ACC}:user/sim-admin`,
        accessKeyId: "AKIASIMULATOR0000001",
        secretAccessKey: "simSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY0",
      },
    ],
  },
  { id: "222222222222", roles: [{ arn: ROLE, externalId: "ext-42" }] },
];

test("assume_role_arn with the right external id discovers the other account; a wrong one deletes nothing", async () => {
  h = await startHarness(
    {
      accounts,
      clusters: [
        { name: "home", region: "us-east-1" },
        { name: "far", region: "us-east-1", account: "222222222222", tags: { env: "prod" } },
      ],
    },
    makeConfig({
      matchers: [{ tags: {}, assume_role_arn: ROLE, external_id: "ext-42", setup_access: false }],
    }),
  );
  const good = h.service();
  const r = await good.pollOnce();
  expect(r.failedScopes).toEqual([]);
  const all = await h.clusters();
  expect(names(all)).toEqual(["far"]);
  expect(all[0]!.metadata.labels?.["kubeport.dev/account-id"]).toBe("222222222222");
  expect(h.sim.state.calls().some((c) => c.action === "sts:AssumeRole" && c.status === 200)).toBe(true);

  const bad = h.service({
    config: makeConfig({
      matchers: [{ tags: {}, assume_role_arn: ROLE, external_id: "wrong", setup_access: false }],
    }),
  });
  const rb = await bad.pollOnce();
  // The account comes from the role ARN, so exactly that scope is protected.
  expect(rb.failedScopes).toEqual(["222222222222/us-east-1"]);
  expect(rb.scopes[0]?.error).toContain("AccessDenied");
  expect(names(await h.clusters())).toEqual(["far"]);

  const none = h.service({
    config: makeConfig({ matchers: [{ tags: {}, assume_role_arn: ROLE, setup_access: false }] }),
  });
  expect((await none.pollOnce()).failedScopes).toEqual(["222222222222/us-east-1"]);
  expect(names(await h.clusters())).toEqual(["far"]);
}, 60_000);

test("an outage in one region does not rename a colliding cluster elsewhere, nor does its end", async () => {
  h = await startHarness(
    {
      clusters: [
        { name: "x", region: "us-east-1" },
        { name: "x", region: "eu-west-1" },
      ],
    },
    makeConfig({ matchers: [{ regions: ["us-east-1", "eu-west-1"], tags: {}, setup_access: false }] }),
  );
  const s = h.service();
  await s.pollOnce();
  expect(names(await h.clusters())).toEqual(["x-eu-west-1", "x-us-east-1"]);
  h.sim.state.injectFault({ region: "eu-west-1", kind: "down" });
  const r = await s.pollOnce();
  expect(r).toMatchObject({ created: 0, updated: 0, deleted: 0 });
  expect(names(await h.clusters())).toEqual(["x-eu-west-1", "x-us-east-1"]);
  // Once the other cluster is really gone, the survivor keeps its name: kubeconfigs and roles
  // pointing at it go on working.
  h.sim.state.clearFaults();
  h.sim.state.deleteCluster(ACC, "eu-west-1", "x");
  await s.pollOnce();
  expect(names(await h.clusters())).toEqual(["x-us-east-1"]);
}, 60_000);

test("names are stable: a second payments elsewhere gets the suffix, the first keeps its name, and back", async () => {
  h = await startHarness(
    { clusters: [{ name: "payments", region: "us-east-1" }] },
    makeConfig({ matchers: [{ regions: ["us-east-1", "eu-west-1"], tags: {}, setup_access: false }] }),
  );
  const s = h.service();
  await s.pollOnce();
  const before = (await h.clusters())[0]!;
  expect(before.metadata.name).toBe("payments");
  await h.sim.state.addCluster({ name: "payments", region: "eu-west-1" });
  const r = await s.pollOnce();
  // Nothing renamed: one create, no delete, no update.
  expect(r).toMatchObject({ created: 1, updated: 0, deleted: 0 });
  expect(names(await h.clusters())).toEqual(["payments", "payments-eu-west-1"]);
  expect((await h.backend.get("kube_cluster", "payments"))?.metadata.revision).toBe(before.metadata.revision);
  h.sim.state.deleteCluster(ACC, "eu-west-1", "payments");
  const gone = await s.pollOnce();
  expect(gone).toMatchObject({ created: 0, updated: 0, deleted: 1 });
  expect(names(await h.clusters())).toEqual(["payments"]);
}, 60_000);

test("Teleport's name-override tags are honoured next to kubeport's", async () => {
  h = await startHarness(
    {
      clusters: [
        { name: "a", region: "us-east-1", tags: { TeleportKubernetesName: "alpha" } },
        { name: "b", region: "us-east-1", tags: { "teleport.dev/kubernetes-name": "beta" } },
        {
          name: "c",
          region: "us-east-1",
          tags: { TeleportKubernetesName: "ignored", "kubeport.dev/kubernetes-name": "gamma" },
        },
      ],
    },
    makeConfig({ matchers: [{ tags: {}, setup_access: false }] }),
  );
  await h.service().pollOnce();
  expect(names(await h.clusters())).toEqual(["alpha", "beta", "gamma"]);
}, 60_000);

test("a call past call_timeout is ended, not left open: the hung endpoint sees the caller give up", async () => {
  h = await startHarness({ clusters: [{ name: "a", region: "us-east-1" }] });
  const { createEksClients, fetchEksClusters } = await import("../../src/discovery/eks-fetcher.ts");
  const { createCredentials } = await import("../../src/discovery/credentials.ts");
  h.sim.state.injectFault({ region: "us-east-1", action: "eks:ListClusters", kind: "hang" });
  const clients = createEksClients({ callTimeoutMs: 300, maxAttempts: 1 });
  const f = await fetchEksClusters({
    region: "us-east-1",
    creds: createCredentials().forMatcher({}),
    clients,
  });
  expect(f.error).toMatch(/^ListClusters: TimeoutError/);
  // The simulator records a hung call when its caller goes away (499); a request only abandoned by
  // the SDK (its promise rejected, the socket kept) would stay open for as long as the fault lasts.
  const deadline = Date.now() + 20_000;
  const gaveUp = () => h!.sim.state.calls().some((c) => c.action === "eks:ListClusters" && c.status === 499);
  while (!gaveUp() && Date.now() < deadline) await Bun.sleep(50);
  expect(gaveUp()).toBe(true);
}, 60_000);
