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

// Entries carry their discovery group, so a leader that did not create them — a new process after a
// restart, or another instance taking over — still removes them when their cluster has left.
const prodClusters = (...names: string[]) =>
  names.map((name) => ({
    name,
    region: "us-east-1",
    authenticationMode: "API" as const,
    creatorAdmin: false,
    tags: { env: "prod" },
  }));
const groupConfig = (group: string, env = "prod") => makeConfig({ group, matchers: [{ tags: { env } }] });

test("a new leader removes its group's entries from a cluster that left the matchers while it was registered", async () => {
  h = await startHarness({ clusters: prodClusters("a", "b") });
  await h.service({ holder: "first", config: groupConfig("g") }).pollOnce();
  expect(entryOf(h, "b")?.tags).toEqual({
    "kubeport.dev/managed": "true",
    "kubeport.dev/discovery-group": "g",
  });

  // b leaves while no one leads; a different process (a restart) is the next leader.
  h.sim.state.tagCluster(ACC, "us-east-1", "b", { env: "dev" });
  h.sim.state.resetCalls();
  await h.service({ holder: "second", config: groupConfig("g") }).pollOnce();
  expect(names(await h.clusters())).toEqual(["a"]);
  expect(entryOf(h, "b")).toBeUndefined();
  expect(entryOf(h, "a")?.kubernetesGroups).toEqual(["kubeport"]);
  expect(h.sim.state.calls().filter((c) => c.action === "eks:DeleteAccessEntry")).toHaveLength(1);
}, 60_000);

test("a new leader removes its group's entry when the previous one deleted the kube_cluster but not the entry", async () => {
  h = await startHarness({ clusters: prodClusters("a", "b") });
  const first = h.service({ holder: "first", config: groupConfig("g") });
  await first.pollOnce();
  h.sim.state.tagCluster(ACC, "us-east-1", "b", { env: "dev" });
  // The previous leader's DeleteAccessEntry fails (then it dies): the kube_cluster is gone, the entry stays.
  const fault = h.sim.state.injectFault({ action: "eks:DeleteAccessEntry", cluster: "b", kind: "down" });
  await first.pollOnce();
  expect(names(await h.clusters())).toEqual(["a"]);
  expect(entryOf(h, "b")).toBeDefined();
  await first.stop();
  h.sim.state.removeFault(fault);

  await h.service({ holder: "second", config: groupConfig("g") }).pollOnce();
  expect(entryOf(h, "b")).toBeUndefined();
  expect(entryOf(h, "a")?.kubernetesGroups).toEqual(["kubeport"]);
}, 60_000);

test("another group's entries, and entries kept by keep_access_entries, stay", async () => {
  h = await startHarness({
    clusters: [
      ...prodClusters("a"),
      {
        name: "o",
        region: "us-east-1",
        authenticationMode: "API",
        creatorAdmin: false,
        tags: { env: "other" },
      },
    ],
  });
  // Group "other" sets up access to o; group g never matched it.
  await h.service({ holder: "other", config: groupConfig("other", "other") }).pollOnce();
  expect(entryOf(h, "o")?.tags).toEqual({
    "kubeport.dev/managed": "true",
    "kubeport.dev/discovery-group": "other",
  });
  await h.service({ holder: "g", config: groupConfig("g") }).pollOnce();
  expect(entryOf(h, "o")?.kubernetesGroups).toEqual(["kubeport"]);

  // a leaves g's matcher while a leader with keep_access_entries takes over: its entry stays.
  h.sim.state.tagCluster(ACC, "us-east-1", "a", { env: "dev" });
  await h
    .service({
      holder: "keeper",
      config: makeConfig({ group: "g", matchers: [{ tags: { env: "prod" }, keep_access_entries: true }] }),
    })
    .pollOnce();
  expect(names(await h.clusters())).toEqual(["o"]);
  expect(entryOf(h, "a")?.tags).toMatchObject({ "kubeport.dev/discovery-group": "g" });
}, 60_000);

test("an entry kubeport made before entries named their group gets the group tag at its next check", async () => {
  h = await startHarness({ clusters: prodClusters("a") });
  await h.service({ holder: "first", config: groupConfig("") }).pollOnce();
  const tags = entryOf(h, "a")!.tags as Record<string, string>;
  delete tags["kubeport.dev/discovery-group"]; // as an older kubeport left it
  h.sim.state.resetCalls();
  await h.service({ holder: "second", config: groupConfig("") }).pollOnce();
  expect(
    h.sim.state
      .calls()
      .filter((c) => MUTATING.test(c.action))
      .map((c) => c.action),
  ).toEqual(["eks:TagResource"]);
  expect(entryOf(h, "a")?.tags).toEqual({
    "kubeport.dev/managed": "true",
    "kubeport.dev/discovery-group": "",
  });
}, 60_000);
