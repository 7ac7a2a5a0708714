// Access entries are owned: kubeport changes only entries it created (tagged kubeport.dev/managed)
// or adopted, and removes its entries from clusters that left the matchers unless told to keep them.
import { afterEach, expect, test } from "bun:test";
import type { DiscoveryStatus } from "../../src/registry/index.ts";
import { ADMIN_POLICY } from "../../src/sim/aws/index.ts";
import { type Harness, makeConfig, names, startHarness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ACC = "111111111111";
const ME = `arn:aws:iam::${ACC}:user/sim-admin`;
const MUTATING = /^eks:(Create|Update|Associate|Disassociate|Delete|Tag)/;
const arnOf = (name: string) => `arn:aws:eks:us-east-1:${ACC}:cluster/${name}`;
const entryOf = (hh: Harness, name: string, principal = ME) =>
  hh.sim.state.getCluster(ACC, "us-east-1", name)?.accessEntries.get(principal);

test("an entry kubeport did not create is left as it is (warning, status line); adopt: true takes it over", async () => {
  // EKS gives the cluster's creator (our identity) an admin entry: not kubeport's.
  h = await startHarness({ clusters: [{ name: "a", region: "us-east-1", authenticationMode: "API" }] });
  const r = await h.service({ config: makeConfig({ group: "g", matchers: [{ tags: {} }] }) }).pollOnce();
  expect(names(await h.clusters())).toEqual(["a"]);
  expect(h.sim.state.calls().filter((c) => MUTATING.test(c.action))).toEqual([]);
  expect(entryOf(h, "a")).toMatchObject({ kubernetesGroups: [], tags: {} });
  const want = `cannot set up access to cluster a (us-east-1): an access entry for ${ME} exists and was not created by kubeport; left as it is (set adopt: true to let kubeport manage it)`;
  expect(r.access.warnings).toEqual([want]);
  const status = (await h.backend.get("discovery_status", "g")) as DiscoveryStatus;
  expect((status.spec as { access_warnings?: string[] }).access_warnings).toEqual([want]);

  h.sim.state.resetCalls();
  const adopted = await h
    .service({ config: makeConfig({ group: "g", matchers: [{ tags: {}, adopt: true }] }) })
    .pollOnce();
  expect(adopted.access.warnings).toEqual([]);
  expect(
    h.sim.state
      .calls()
      .filter((c) => MUTATING.test(c.action))
      .map((c) => c.action),
  ).toEqual(["eks:TagResource", "eks:UpdateAccessEntry"]);
  expect(entryOf(h, "a")).toMatchObject({
    kubernetesGroups: ["kubeport"],
    tags: { "kubeport.dev/managed": "true" },
  });
}, 60_000);

test("kubeport's entries are removed from clusters that left the matcher; keep_access_entries keeps them", async () => {
  h = await startHarness({
    clusters: ["a", "b", "c"].map((name) => ({
      name,
      region: "us-east-1",
      authenticationMode: "API" as const,
      creatorAdmin: false,
      tags: { env: "prod" },
    })),
  });
  const s = h.service({ config: makeConfig({ matchers: [{ tags: { env: "prod" } }] }) });
  await s.pollOnce();
  for (const n of ["a", "b", "c"])
    expect(h.sim.state.accessEntryFor(arnOf(n), ME)?.policies).toEqual([ADMIN_POLICY]);

  // b leaves the matcher (retagged); c is deleted from EKS altogether.
  h.sim.state.tagCluster(ACC, "us-east-1", "b", { env: "dev" });
  h.sim.state.deleteCluster(ACC, "us-east-1", "c");
  h.sim.state.resetCalls();
  await s.pollOnce();
  expect(names(await h.clusters())).toEqual(["a"]);
  expect(h.sim.state.accessEntryFor(arnOf("b"), ME)).toBeUndefined();
  expect(h.sim.state.calls().filter((c) => c.action === "eks:DeleteAccessEntry")).toHaveLength(1);

  const keeping = h.service({
    holder: "keeper",
    config: makeConfig({ matchers: [{ tags: { env: "prod" }, keep_access_entries: true }] }),
  });
  await keeping.pollOnce();
  h.sim.state.tagCluster(ACC, "us-east-1", "a", { env: "dev" });
  await keeping.pollOnce();
  expect(names(await h.clusters())).toEqual([]);
  expect(h.sim.state.accessEntryFor(arnOf("a"), ME)?.kubernetesGroups).toEqual(["kubeport"]);
}, 60_000);

test("an entry someone else made is never removed when its cluster leaves", async () => {
  h = await startHarness({
    clusters: [{ name: "a", region: "us-east-1", authenticationMode: "API", tags: { env: "prod" } }],
  });
  const s = h.service({ config: makeConfig({ matchers: [{ tags: { env: "prod" } }] }) });
  await s.pollOnce();
  h.sim.state.tagCluster(ACC, "us-east-1", "a", { env: "dev" });
  await s.pollOnce();
  expect(names(await h.clusters())).toEqual([]);
  expect(entryOf(h, "a")?.policies.has(ADMIN_POLICY)).toBe(true);
}, 60_000);
