// Independent scopes: a hung region never delays another's changes; failed scopes keep their
// clusters and counts; credentials that expire, fail to say who they are, or rotate.
import { afterEach, expect, test } from "bun:test";
import pino from "pino";
import { Registry } from "prom-client";
import type { DiscoveryStatus, KubeCluster } from "../../src/registry/index.ts";
import { DEFAULT_PRINCIPAL } from "../../src/sim/aws/index.ts";
import { type Harness, makeConfig, names, startHarness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ACC = "111111111111";
const waitFor = async (what: string, cond: () => Promise<boolean>, ms: number) => {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await Bun.sleep(50);
  }
};

const statusRows = async (hh: Harness, group: string) =>
  ((await hh.backend.get("discovery_status", group)) as DiscoveryStatus | undefined)?.spec.scopes ?? [];

test("one region hangs forever: every other region's create, retag and delete lands within poll_interval + 10 s; the hung scope fails visibly and keeps its clusters", async () => {
  const lines: { msg: string; region?: string; err?: string; level: number }[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  h = await startHarness({
    clusters: [
      { name: "east-1", region: "us-east-1" },
      { name: "west-1", region: "eu-west-1", tags: { env: "a" } },
      { name: "hung-1", region: "ap-south-1" },
      { name: "hung-2", region: "ap-south-1" },
    ],
  });
  const config = makeConfig({
    group: "g",
    pollInterval: "3s",
    matchers: [{ regions: ["us-east-1", "eu-west-1", "ap-south-1"], tags: {}, setup_access: false }],
  });
  config.discovery_service.call_timeout = 1000;
  config.discovery_service.scope_timeout = 2500;
  const s = h.service({ config, log });
  await s.start();
  await waitFor("all four registered", async () => (await h!.clusters()).length === 4, 20_000);

  h.sim.state.injectFault({ region: "ap-south-1", kind: "hang" });
  await h.sim.state.addCluster({ name: "east-2", region: "us-east-1" });
  h.sim.state.tagCluster(ACC, "eu-west-1", "west-1", { env: "b" });
  h.sim.state.deleteCluster(ACC, "us-east-1", "east-1");
  h.sim.state.deleteCluster(ACC, "ap-south-1", "hung-2");
  const t0 = Date.now();
  const applied = async () => {
    const all = await h!.clusters();
    const west = all.find((c) => c.metadata.name === "west-1") as KubeCluster | undefined;
    return (
      all.some((c) => c.metadata.name === "east-2") &&
      !all.some((c) => c.metadata.name === "east-1") &&
      west?.metadata.labels?.env === "b"
    );
  };
  await waitFor("the healthy regions' changes", applied, 60_000);
  // The bound: one poll interval plus 10 s.
  expect(Date.now() - t0).toBeLessThan(3000 + 10_000);

  await waitFor(
    "the hung scope to be marked failed",
    async () => (await statusRows(h!, "g")).some((r) => r.region === "ap-south-1" && r.state === "failed"),
    30_000,
  );
  const hung = (await statusRows(h, "g")).find((r) => r.region === "ap-south-1")!;
  expect(hung.error).toContain("did not finish within scope_timeout (2.5s)");
  expect(hung.clusters).toBe(2);
  expect(names(await h.clusters())).toEqual(["east-2", "hung-1", "hung-2", "west-1"]);
  const logged = lines.find((l) => l.region === "ap-south-1" && l.level === 40);
  expect(logged?.msg).toBe("scope fetch failed; keeping its undecided clusters");
  expect(logged?.err).toContain("scope_timeout");
  await s.stop();
}, 120_000);

const ROLE = "arn:aws:iam::222222222222:role/kubeport-discovery";
const twoAccounts = [
  { id: ACC, principals: [DEFAULT_PRINCIPAL] },
  { id: "222222222222", roles: [{ arn: ROLE, externalId: "ext-42" }] },
];
const gauge = (text: string, name: string) => {
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
};

test("expired credentials: the scope fails visibly, nothing is deleted, gauges keep the last good counts; the next poll assumes the role again", async () => {
  h = await startHarness(
    {
      accounts: twoAccounts,
      clusters: [
        { name: "far-1", region: "us-east-1", account: "222222222222" },
        { name: "far-2", region: "us-east-1", account: "222222222222" },
      ],
    },
    makeConfig({
      group: "g",
      matchers: [{ tags: {}, assume_role_arn: ROLE, external_id: "ext-42", setup_access: false }],
    }),
  );
  const metrics = new Registry();
  const s = h.service({ metrics });
  await s.pollOnce();
  expect(names(await h.clusters())).toEqual(["far-1", "far-2"]);

  expect(h.sim.state.expireSessions(ROLE)).toBeGreaterThan(0);
  h.sim.state.deleteCluster("222222222222", "us-east-1", "far-2");
  const r = await s.pollOnce();
  expect(r.failedScopes).toEqual(["222222222222/us-east-1"]);
  expect(r.scopes[0]).toMatchObject({ state: "failed", clusters: 2 });
  expect(r.scopes[0]?.error).toContain("ExpiredTokenException");
  expect(names(await h.clusters())).toEqual(["far-1", "far-2"]);
  const text = await metrics.metrics();
  expect(gauge(text, "kubeport_discovery_clusters_found")).toBe(2);
  expect(gauge(text, 'kubeport_discovery_scope_clusters{account="222222222222",region="us-east-1"}')).toBe(2);
  expect(
    gauge(text, 'kubeport_discovery_scope_failures_total{account="222222222222",region="us-east-1"}'),
  ).toBe(1);

  const again = await s.pollOnce();
  expect(again.failedScopes).toEqual([]);
  expect(names(await h.clusters())).toEqual(["far-1"]);
}, 60_000);

test("a wrong external id fails the role's scope visibly; gauges keep the last good counts", async () => {
  h = await startHarness(
    { accounts: twoAccounts, clusters: [{ name: "far", region: "us-east-1", account: "222222222222" }] },
    makeConfig({
      group: "g",
      matchers: [{ tags: {}, assume_role_arn: ROLE, external_id: "ext-42", setup_access: false }],
    }),
  );
  const metrics = new Registry();
  await h.service({ metrics }).pollOnce();
  const bad = h.service({
    metrics,
    config: makeConfig({
      group: "g",
      matchers: [{ tags: {}, assume_role_arn: ROLE, external_id: "wrong", setup_access: false }],
    }),
  });
  const r = await bad.pollOnce();
  expect(r.failedScopes).toEqual(["222222222222/us-east-1"]);
  expect(r.scopes[0]?.error).toContain("AccessDenied");
  expect(names(await h.clusters())).toEqual(["far"]);
  // Another instance's gauges start empty, but a failed scope never drives the total to 0.
  expect(gauge(await metrics.metrics(), "kubeport_discovery_clusters_found")).toBe(1);
}, 60_000);

test("GetCallerIdentity failing does not stop enrolment: the account comes from the clusters' ARNs", async () => {
  h = await startHarness(
    { clusters: [{ name: "a", region: "us-east-1" }] },
    makeConfig({ matchers: [{ tags: {}, setup_access: false }] }),
  );
  h.sim.state.injectFault({ action: "sts:GetCallerIdentity", kind: "down" });
  const r = await h.service().pollOnce();
  expect(names(await h.clusters())).toEqual(["a"]);
  expect((await h.clusters())[0]?.metadata.labels?.["kubeport.dev/account-id"]).toBe(ACC);
  expect(r.scopes[0]).toMatchObject({ account: ACC, state: "ok" });
}, 60_000);

test("the caller identity is read again when the credentials rotate", async () => {
  const OTHER = {
    arn: `arn:aws:iam::${ACC}:user/rotated`,
    accessKeyId: "AKIASIMULATORROTATED",
    secretAccessKey: "rotatedSecret/000000000000000000000000",
  };
  h = await startHarness(
    {
      accounts: [{ id: ACC, principals: [DEFAULT_PRINCIPAL, OTHER] }],
      clusters: [{ name: "a", region: "us-east-1", authenticationMode: "API", creatorAdmin: false }],
    },
    makeConfig({ matchers: [{ tags: {} }] }),
  );
  let keys: { accessKeyId: string; secretAccessKey: string } = DEFAULT_PRINCIPAL;
  const s = h.service({ awsCredentials: async () => keys });
  await s.pollOnce();
  const arn = `arn:aws:eks:us-east-1:${ACC}:cluster/a`;
  expect(h.sim.state.accessEntryFor(arn, DEFAULT_PRINCIPAL.arn)?.kubernetesGroups).toEqual(["kubeport"]);
  keys = OTHER;
  h.sim.state.tagCluster(ACC, "us-east-1", "a", { touched: "1" });
  h.sim.state.resetCalls();
  await s.pollOnce();
  expect(
    h.sim.state
      .calls()
      .filter((c) => c.action === "sts:GetCallerIdentity")
      .map((c) => c.principal),
  ).toEqual([OTHER.arn]);
  expect(h.sim.state.accessEntryFor(arn, OTHER.arn)?.kubernetesGroups).toEqual(["kubeport"]);
}, 60_000);

test("throttled answers and SDK retries are counted per scope", async () => {
  h = await startHarness(
    { clusters: Array.from({ length: 6 }, (_, i) => ({ name: `c${i}`, region: "us-east-1" })) },
    makeConfig({ matchers: [{ tags: {}, setup_access: false }] }),
  );
  const metrics = new Registry();
  const s = h.service({ metrics });
  // Every DescribeCluster of c0 is throttled: the SDK tries 5 times (4 retries), then gives up.
  h.sim.state.injectFault({
    region: "us-east-1",
    cluster: "c0",
    action: "DescribeCluster",
    kind: "throttle",
  });
  const r = await s.pollOnce();
  h.sim.state.clearFaults();
  const text = await metrics.metrics();
  const throttled = gauge(
    text,
    'kubeport_discovery_scope_throttled_total{account="111111111111",region="us-east-1"}',
  );
  expect(throttled).toBeGreaterThan(0);
  expect(gauge(text, 'kubeport_discovery_aws_retries_total{action="eks:DescribeCluster"}')).toBeGreaterThan(
    0,
  );
  expect(r.scopes[0]?.throttled).toBe(throttled!);
}, 60_000);
