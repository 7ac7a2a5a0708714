// EKS discovery against the AWS simulator (real SDK over HTTP) and a SQLite registry.
import { afterEach, describe, expect, test } from "bun:test";
import type { KubeCluster } from "../../src/registry/index.ts";
import type { SimClusterSeed } from "../../src/sim/aws/index.ts";
import { EKS_REGIONS as SIM_REGIONS } from "../../src/sim/aws/index.ts";
import { type Harness, type MatcherSeed, makeConfig, names, startHarness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ACC = "111111111111";
const start = async (
  clusters: SimClusterSeed[],
  matchers: MatcherSeed[] = [{ setup_access: false }],
  group = "",
) => {
  h = await startHarness({ clusters }, makeConfig({ matchers, group }));
  return h;
};

describe("tag matching", () => {
  const clusters: SimClusterSeed[] = [
    { name: "prod-a", region: "us-east-1", tags: { env: "prod", team: "core" } },
    { name: "dev-a", region: "us-east-1", tags: { env: "dev" } },
    { name: "stage-a", region: "us-east-1", tags: { env: "staging" } },
    { name: "bare", region: "us-east-1", tags: {} },
  ];
  const cases: { name: string; tags: Record<string, string | string[]>; want: string[] }[] = [
    { name: "exact", tags: { env: "prod" }, want: ["prod-a"] },
    { name: "list of alternatives", tags: { env: ["prod", "dev"] }, want: ["dev-a", "prod-a"] },
    { name: "* = key present", tags: { env: "*" }, want: ["dev-a", "prod-a", "stage-a"] },
    { name: "regex", tags: { env: "^(dev|staging)$" }, want: ["dev-a", "stage-a"] },
    { name: "glob", tags: { env: "st*" }, want: ["stage-a"] },
    { name: "AND of keys", tags: { env: "prod", team: "other" }, want: [] },
    { name: "no match", tags: { env: "qa" }, want: [] },
    { name: "{*: *} matches all", tags: { "*": "*" }, want: ["bare", "dev-a", "prod-a", "stage-a"] },
    { name: "region label", tags: { "kubeport.dev/region": "us-east-1", env: "dev" }, want: ["dev-a"] },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const { service, clusters: list } = await start(clusters, [{ tags: c.tags, setup_access: false }]);
      await service().pollOnce();
      expect(names(await list())).toEqual(c.want);
    }, 60_000);
  }
});

test("the static region list covers every region the simulator knows", () => {
  const { EKS_REGIONS } =
    require("../../src/discovery/index.ts") as typeof import("../../src/discovery/index.ts");
  expect(SIM_REGIONS.filter((r) => !EKS_REGIONS.includes(r))).toEqual([]);
});

test('regions "*" finds clusters in every region, and the resource is complete', async () => {
  const regions = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1", "me-central-1"];
  const { service, clusters } = await start(
    regions.map((r) => ({ name: `c-${r}`, region: r, tags: { env: "prod" }, version: "1.31" })),
    [{ regions: ["*"], tags: { env: "prod" }, setup_access: false }],
    "g1",
  );
  const res = await service().pollOnce();
  expect(res.failedScopes).toEqual([]);
  const all = (await clusters()) as KubeCluster[];
  expect(names(all)).toEqual(regions.map((r) => `c-${r}`).sort());
  const one = all.find((c) => c.metadata.name === "c-eu-west-1")!;
  expect(one.metadata.labels).toMatchObject({
    env: "prod",
    "kubeport.dev/cloud": "AWS",
    "kubeport.dev/region": "eu-west-1",
    "kubeport.dev/account-id": ACC,
    "kubeport.dev/arn": `arn:aws:eks:eu-west-1:${ACC}:cluster/c-eu-west-1`,
    "kubeport.dev/origin": "cloud",
    "kubeport.dev/discovery-group": "g1",
    "kubeport.dev/discovery-type": "eks",
  });
  expect(one.spec).toMatchObject({
    aws: { region: "eu-west-1", account_id: ACC, name: "c-eu-west-1" },
    kubernetes_version: "1.31",
    auth: "eks",
  });
  expect(one.spec.endpoint).toStartWith("https://");
  expect(one.spec.ca_data?.length).toBeGreaterThan(10);
  // EKS's createdAt (epoch seconds on the wire) comes through as RFC 3339, for ctl's AGE column.
  const created = Date.parse(one.spec.aws?.created_at ?? "");
  expect(Math.abs(Date.now() - created)).toBeLessThan(60_000);
}, 60_000);

test("pagination: more than one ListClusters page", async () => {
  const seeds = Array.from({ length: 230 }, (_, i) => ({
    name: `c${String(i).padStart(3, "0")}`,
    region: "us-east-1",
  }));
  const { service, clusters, sim } = await start(seeds, [{ tags: {}, setup_access: false }]);
  await service().pollOnce();
  expect((await clusters()).length).toBe(230);
  expect(sim.state.callCounts()["eks:ListClusters"]).toBe(3);
}, 60_000);

test("status filter: only ACTIVE is enrolled; UPDATING keeps what is registered; DELETING/FAILED leave", async () => {
  const { service, clusters, sim } = await start(
    [
      { name: "active", region: "us-east-1" },
      { name: "creating", region: "us-east-1", status: "CREATING" },
      { name: "failed", region: "us-east-1", status: "FAILED" },
      { name: "going", region: "us-east-1" },
      { name: "upd", region: "us-east-1" },
      { name: "upd-new", region: "us-east-1", status: "UPDATING" },
    ],
    [{ tags: {}, setup_access: false }],
  );
  const s = service();
  await s.pollOnce();
  expect(names(await clusters())).toEqual(["active", "going", "upd"]);
  sim.state.setStatus(ACC, "us-east-1", "going", "DELETING");
  sim.state.setStatus(ACC, "us-east-1", "upd", "UPDATING");
  sim.state.tagCluster(ACC, "us-east-1", "upd", { changed: "yes" });
  await s.pollOnce();
  const after = await clusters();
  expect(names(after)).toEqual(["active", "upd"]);
  expect(after.find((c) => c.metadata.name === "upd")!.metadata.labels?.changed).toBeUndefined();
}, 60_000);

test("name collisions get readable deterministic suffixes; a lone name is left as is", async () => {
  const { service, clusters } = await start(
    [
      { name: "shared", region: "us-east-1" },
      { name: "shared", region: "eu-west-1" },
      { name: "solo", region: "eu-west-1" },
      { name: "named", region: "eu-west-1", tags: { "kubeport.dev/kubernetes-name": "custom" } },
    ],
    [{ regions: ["us-east-1", "eu-west-1"], tags: {}, setup_access: false }],
  );
  await service().pollOnce();
  const all = await clusters();
  expect(names(all)).toEqual(["custom", "shared-eu-west-1", "shared-us-east-1", "solo"]);
  expect(
    all.find((c) => c.metadata.name === "shared-eu-west-1")!.metadata.labels?.["kubeport.dev/eks-name"],
  ).toBe("shared");
  expect(
    all.find((c) => c.metadata.name === "solo")!.metadata.labels?.["kubeport.dev/eks-name"],
  ).toBeUndefined();
}, 60_000);

test("retag → update; untag → delete; cluster deleted → delete; a no-change poll writes nothing", async () => {
  const { service, clusters, sim, backend } = await start(
    [
      { name: "a", region: "us-east-1", tags: { env: "prod", tier: "1" } },
      { name: "b", region: "us-east-1", tags: { env: "prod" } },
      { name: "c", region: "us-east-1", tags: { env: "prod" } },
    ],
    [{ tags: { env: "prod" }, setup_access: false }],
  );
  const s = service();
  expect((await s.pollOnce()).created).toBe(3);

  backend.writes.length = 0;
  const quiet = await s.pollOnce();
  expect(quiet).toMatchObject({ created: 0, updated: 0, deleted: 0, unchanged: 3, writes: 0 });
  expect(backend.writes.filter((w) => w.kind === "kube_cluster")).toEqual([]);
  // The only write of a quiet poll is the status heartbeat.
  expect(backend.writes.map(({ op, kind, name }) => ({ op, kind, name }))).toEqual([
    { op: "put", kind: "discovery_status", name: "default" },
  ]);

  sim.state.tagCluster(ACC, "us-east-1", "a", { tier: "2" });
  sim.state.untagCluster(ACC, "us-east-1", "b", ["env"]);
  sim.state.deleteCluster(ACC, "us-east-1", "c");
  const r = await s.pollOnce();
  expect(r).toMatchObject({ created: 0, updated: 1, deleted: 2 });
  const all = await clusters();
  expect(names(all)).toEqual(["a"]);
  expect(all[0]!.metadata.labels?.tier).toBe("2");
}, 60_000);

test("two discovery groups over one registry never delete each other's clusters", async () => {
  const { service, clusters, backend } = await start([
    { name: "prod-1", region: "us-east-1", tags: { env: "prod" } },
    { name: "stage-1", region: "us-east-1", tags: { env: "staging" } },
  ]);
  const prod = service({
    config: makeConfig({ group: "prod", matchers: [{ tags: { env: "prod" }, setup_access: false }] }),
    holder: "p",
  });
  const stage = service({
    config: makeConfig({ group: "staging", matchers: [{ tags: { env: "staging" }, setup_access: false }] }),
    holder: "s",
  });
  const ungrouped = service({
    config: makeConfig({ group: "", matchers: [{ tags: { env: "none" }, setup_access: false }] }),
    holder: "u",
  });
  await prod.pollOnce();
  await stage.pollOnce();
  backend.writes.length = 0;
  for (let i = 0; i < 2; i++) {
    await prod.pollOnce();
    await stage.pollOnce();
    await ungrouped.pollOnce();
  }
  expect(backend.writes.filter((w) => w.kind === "kube_cluster")).toEqual([]);
  const all = await clusters();
  expect(names(all)).toEqual(["prod-1", "stage-1"]);
  expect(all.map((c) => c.metadata.labels?.["kubeport.dev/discovery-group"]).sort()).toEqual([
    "prod",
    "staging",
  ]);
}, 60_000);

test("metrics land in the registry passed in", async () => {
  const { Registry } = await import("prom-client");
  const registry = new Registry();
  const { service, sim } = await start(
    [
      { name: "a", region: "us-east-1" },
      { name: "b", region: "eu-west-1" },
    ],
    [{ regions: ["us-east-1", "eu-west-1"], tags: {}, setup_access: false }],
  );
  sim.state.injectFault({ region: "eu-west-1", action: "ListClusters", kind: "denied" });
  await service({ metrics: registry }).pollOnce();
  const text = await registry.metrics();
  expect(text).toContain('kubeport_discovery_polls_total{outcome="partial"} 1');
  expect(text).toContain("kubeport_discovery_clusters_found 1");
  expect(text).toContain("kubeport_discovery_created_total 1");
  expect(text).toContain('kubeport_discovery_aws_calls_total{action="eks:DescribeCluster",outcome="ok"} 1');
  expect(text).toContain(
    'kubeport_discovery_aws_calls_total{action="eks:ListClusters",outcome="AccessDeniedException"} 1',
  );
  // One fetch per scope (us-east-1 and the denied eu-west-1).
  expect(text).toContain("kubeport_discovery_poll_duration_seconds_count 2");
}, 60_000);

test("matchers sharing credentials and a region share one fetch (one scope); each applies its own tags", async () => {
  const { service, clusters, sim } = await start(
    [
      { name: "p", region: "us-east-1", tags: { env: "prod" } },
      { name: "d", region: "us-east-1", tags: { env: "dev" } },
      { name: "q", region: "us-east-1", tags: { env: "qa" } },
    ],
    [
      { tags: { env: "prod" }, setup_access: false },
      { tags: { env: "dev" }, setup_access: false },
    ],
  );
  const r = await service().pollOnce();
  expect(names(await clusters())).toEqual(["d", "p"]);
  expect(sim.state.callCounts()["eks:DescribeCluster"]).toBe(3);
  expect(r.scopes.map((x) => [x.matcher, x.region, x.clusters])).toEqual([[0, "us-east-1", 2]]);
}, 60_000);
