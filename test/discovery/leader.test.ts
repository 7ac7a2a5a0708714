// HA: two discovery services on one registry (SQLite, then Redis): one polls; stopping it hands over at once.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import pino from "pino";
import { type Backend, type DiscoveryStatus, openRedisBackend } from "../../src/registry/index.ts";
import { type RedisStandalone, startRedisStandalone } from "../helpers/redis.ts";
import { type Harness, makeConfig, startHarness } from "./harness.ts";

let h: Harness | undefined;
let redis: RedisStandalone | undefined;
const extra: Backend[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const b of extra.splice(0)) await b.close();
});
afterAll(async () => {
  await redis?.stop();
});

const waitFor = async (what: string, cond: () => boolean | Promise<boolean>, ms = 5000) => {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
};

const backends: { name: string; open: (h: Harness) => Promise<Backend> }[] = [
  { name: "sqlite", open: async (hh) => hh.backend },
  {
    name: "redis",
    open: async () => {
      redis ??= await startRedisStandalone();
      const b = openRedisBackend({ url: redis.url, key_prefix: `disc-${crypto.randomUUID().slice(0, 8)}` });
      extra.push(b);
      return b;
    },
  },
];

for (const { name, open } of backends) {
  describe(`leader election on ${name}`, () => {
    test("only the lock holder polls; stopping it makes the other poll at once", async () => {
      h = await startHarness(
        { clusters: [{ name: "a", region: "us-east-1" }] },
        makeConfig({
          group: "ha",
          pollInterval: "5m",
          lockTtl: "900ms",
          matchers: [{ tags: {}, setup_access: false }],
        }),
      );
      const backend = await open(h);
      const lists = () => h!.sim.state.calls().filter((c) => c.action === "eks:ListClusters").length;
      const one = h.service({ holder: "one", backend });
      const two = h.service({ holder: "two", backend });
      await one.start();
      await waitFor("first poll", () => lists() === 1);
      await two.start();
      // Several lease periods pass: still exactly one poll, by one leader.
      await Bun.sleep(900);
      expect(lists()).toBe(1);
      expect([one.isLeader(), two.isLeader()]).toEqual([true, false]);
      await expect(two.pollOnce()).rejects.toThrow(/not the leader/);
      expect((await backend.get("kube_cluster", "a"))?.metadata.name).toBe("a");

      const t0 = Date.now();
      await one.stop();
      await waitFor("the other to poll", () => lists() === 2, 3000);
      // The lock is released on stop, so the wait is one acquire period (ttl/3), not the TTL.
      expect(Date.now() - t0).toBeLessThan(900);
      expect(two.isLeader()).toBe(true);
      await waitFor(
        "status by the new leader",
        async () =>
          ((await backend.get("discovery_status", "ha")) as DiscoveryStatus | undefined)?.spec.holder ===
          "two",
      );
    }, 60_000);
  });
}

test("a started leader polls at once, then every poll_interval, and every write carries its fencing token", async () => {
  h = await startHarness(
    { clusters: [{ name: "a", region: "us-east-1" }] },
    makeConfig({
      group: "loop",
      pollInterval: "1s",
      lockTtl: "3s",
      matchers: [{ tags: {}, setup_access: false }],
    }),
  );
  const lists = () => h!.sim.state.calls().filter((c) => c.action === "eks:ListClusters").length;
  const s = h.service({ holder: "solo" });
  const t0 = Date.now();
  await s.start();
  await waitFor("first poll", () => lists() === 1, 2000);
  expect(Date.now() - t0).toBeLessThan(1000);
  await h.sim.state.addCluster({ name: "b", region: "us-east-1" });
  await waitFor("second poll", async () => (await h!.backend.get("kube_cluster", "b")) !== undefined, 3000);
  await s.stop();
  const writes = h.backend.writes;
  expect(writes.length).toBeGreaterThanOrEqual(3);
  const tokens = new Set(writes.map((w) => w.fence));
  expect(tokens.size).toBe(1);
  expect([...tokens][0]).toBeNumber();
  // Stopped: no more polls.
  const n = lists();
  await Bun.sleep(1300);
  expect(lists()).toBe(n);
}, 60_000);

test("a leader elected again after others led decides from fresh fetches: it never deletes a cluster enrolled meanwhile", async () => {
  // The shape of a Redis outage (test/ha/redis-faults.test.ts): "one" leads and fetches [a]; it loses
  // the registry (its renewals fail) and "two" leads, enrolling b, added to EKS meanwhile; "two"
  // stops and "one", reachable again, is elected. Its fetch of [a] is from its earlier term.
  h = await startHarness(
    { clusters: [{ name: "a", region: "us-east-1" }] },
    makeConfig({
      group: "terms",
      pollInterval: "1s",
      lockTtl: "900ms",
      matchers: [{ tags: {}, setup_access: false }],
    }),
  );
  const inner = h.backend;
  let partitioned = false;
  const unreachable = () => Promise.reject(new Error("registry unreachable (test partition)"));
  const oneBackend = Object.assign(Object.create(inner) as Backend, {
    acquireLock: (...a: Parameters<Backend["acquireLock"]>) =>
      partitioned ? unreachable() : inner.acquireLock(...a),
    renewLock: (...a: Parameters<Backend["renewLock"]>) =>
      partitioned ? unreachable() : inner.renewLock(...a),
  });
  const one = h.service({ holder: "one", backend: oneBackend });
  const two = h.service({ holder: "two" });
  await one.start();
  await waitFor(
    "a enrolled by one",
    async () => (await inner.get("kube_cluster", "a")) !== undefined,
    20_000,
  );

  partitioned = true;
  await waitFor("one to step down", () => !one.isLeader(), 20_000);
  await h.sim.state.addCluster({ name: "b", region: "us-east-1" });
  await two.start();
  await waitFor(
    "b enrolled by two",
    async () => (await inner.get("kube_cluster", "b")) !== undefined,
    20_000,
  );
  await two.stop();

  const deletesBefore = inner.writes.filter((w) => w.op === "delete").length;
  const lists = () => h!.sim.state.calls().filter((c) => c.action === "eks:ListClusters").length;
  const listsBefore = lists();
  partitioned = false;
  await waitFor("one elected again", () => one.isLeader(), 20_000);
  // Its first fetch of the new term, and the reconcile after it.
  await waitFor("a poll by one", () => lists() > listsBefore, 20_000);
  await waitFor(
    "status by one",
    async () =>
      ((await inner.get("discovery_status", "terms")) as DiscoveryStatus | undefined)?.spec.holder === "one",
    20_000,
  );
  await Bun.sleep(1500);
  expect(inner.writes.filter((w) => w.op === "delete").slice(deletesBefore)).toEqual([]);
  expect((await h.clusters()).map((r) => r.metadata.name)).toEqual(["a", "b"]);
}, 60_000);

test("leadership lost while a plan reads the registry: the plan ends quietly, and the next term plans and polls", async () => {
  // The plan (matchers from discovery_config, organizations, scopes) awaits the registry; the lease
  // can be lost meanwhile. That term's plan must end without an error, and the next term work as usual.
  h = await startHarness(
    { clusters: [{ name: "a", region: "us-east-1" }] },
    makeConfig({
      group: "replan",
      pollInterval: "1s",
      lockTtl: "900ms",
      matchers: [{ tags: {}, setup_access: false }],
    }),
  );
  const inner = h.backend;
  let partitioned = false;
  let holdPlans = false;
  const held: (() => void)[] = [];
  let plansReturned = 0;
  const unreachable = () => Promise.reject(new Error("registry unreachable (test partition)"));
  const backend = Object.assign(Object.create(inner) as Backend, {
    acquireLock: (...a: Parameters<Backend["acquireLock"]>) =>
      partitioned ? unreachable() : inner.acquireLock(...a),
    renewLock: (...a: Parameters<Backend["renewLock"]>) =>
      partitioned ? unreachable() : inner.renewLock(...a),
    list: async (...a: Parameters<Backend["list"]>) => {
      if (a[0] === "discovery_config" && holdPlans) await new Promise<void>((r) => held.push(r));
      const out = await inner.list(...a);
      if (a[0] === "discovery_config") plansReturned++;
      return out;
    },
  });
  const lines: { level: number; msg: string; err?: string }[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const one = h.service({ holder: "one", backend, log });
  await one.start();
  await waitFor("a enrolled", async () => (await inner.get("kube_cluster", "a")) !== undefined, 20_000);

  holdPlans = true;
  await waitFor("a plan waiting on the registry", () => held.length > 0, 20_000);
  partitioned = true;
  await waitFor("one to step down", () => !one.isLeader(), 20_000);
  const returned = plansReturned;
  holdPlans = false;
  for (const r of held.splice(0)) r();
  await waitFor("the held plan's read to return", () => plansReturned > returned, 20_000);
  // What follows the read is in-process (no organizations to list): done within a few ticks.
  await Bun.sleep(100);
  expect(lines.filter((l) => l.level >= 50)).toEqual([]);

  partitioned = false;
  await waitFor("one elected again", () => one.isLeader(), 20_000);
  await h.sim.state.addCluster({ name: "b", region: "us-east-1" });
  await waitFor(
    "b enrolled by the new term",
    async () => (await inner.get("kube_cluster", "b")) !== undefined,
    20_000,
  );
  expect(lines.filter((l) => l.level >= 50)).toEqual([]);
}, 60_000);

for (const { name, open } of backends) {
  test(`on ${name}, a leader follows kube_clusters through a watch: a cluster deleted by hand is back within seconds, not at the next poll`, async () => {
    h = await startHarness(
      { clusters: [{ name: "a", region: "us-east-1" }] },
      makeConfig({ group: "view", pollInterval: "5m", matchers: [{ tags: {}, setup_access: false }] }),
    );
    const backend = await open(h);
    const s = h.service({ holder: "solo", backend });
    await s.start();
    await waitFor("a enrolled", async () => (await backend.get("kube_cluster", "a")) !== undefined, 20_000);
    const lists = h.sim.state.calls().filter((c) => c.action === "eks:ListClusters").length;
    expect(await backend.delete("kube_cluster", "a")).toBe(true);
    await waitFor("a back", async () => (await backend.get("kube_cluster", "a")) !== undefined, 20_000);
    // From what the scope fetched already: no new fetch was needed.
    expect(h.sim.state.calls().filter((c) => c.action === "eks:ListClusters").length).toBe(lists);
  }, 60_000);
}

test("no poll reads every kube_cluster again: the leader's view is its watch, read in full once per term", async () => {
  h = await startHarness(
    { clusters: [{ name: "a", region: "us-east-1" }] },
    makeConfig({ group: "reads", pollInterval: "1s", matchers: [{ tags: {}, setup_access: false }] }),
  );
  const inner = h.backend;
  let plans = 0;
  let fullReads = 0;
  const backend = Object.assign(Object.create(inner) as Backend, {
    list: (...a: Parameters<Backend["list"]>) => {
      if (a[0] === "discovery_config") plans++;
      if (a[0] === "kube_cluster") fullReads++;
      return inner.list(...a);
    },
  });
  const s = h.service({ holder: "solo", backend });
  await s.start();
  await waitFor("a enrolled", async () => (await inner.get("kube_cluster", "a")) !== undefined, 20_000);
  await waitFor("three plans", () => plans >= 3, 20_000);
  await h.sim.state.addCluster({ name: "b", region: "us-east-1" });
  await waitFor("b enrolled", async () => (await inner.get("kube_cluster", "b")) !== undefined, 20_000);
  expect(fullReads).toBe(0);
  expect((await h.clusters()).map((r) => r.metadata.name)).toEqual(["a", "b"]);
}, 60_000);

for (const { name, open } of backends) {
  test(`on ${name}, a discovered kube_cluster edited by someone else is put back from the fetch held, while nothing changed in EKS`, async () => {
    // The leader reuses the resources it built when a scope's fetch is unchanged (desired.ts): an
    // edit arrives as someone else's copy and must be compared in full, not taken as built.
    h = await startHarness(
      {
        clusters: [
          { name: "a", region: "us-east-1", tags: { env: "prod" } },
          { name: "b", region: "us-east-1", tags: { env: "prod" } },
        ],
      },
      makeConfig({ group: "edit", pollInterval: "1s", matchers: [{ tags: {}, setup_access: false }] }),
    );
    const backend = await open(h);
    const s = h.service({ holder: "solo", backend });
    await s.start();
    await waitFor("a enrolled", async () => (await backend.get("kube_cluster", "b")) !== undefined, 20_000);
    // Several unchanged rounds pass (each scope fetched again, equal content).
    const lists = () => h!.sim.state.calls().filter((c) => c.action === "eks:ListClusters").length;
    const before = lists();
    await waitFor("two more rounds", () => lists() >= before + 2, 20_000);
    const a = (await backend.get("kube_cluster", "a"))!;
    expect(a.metadata.labels?.env).toBe("prod");
    await backend.put({ ...a, metadata: { ...a.metadata, labels: { ...a.metadata.labels, env: "hacked" } } });
    await waitFor(
      "a's label put back",
      async () => (await backend.get("kube_cluster", "a"))?.metadata.labels?.env === "prod",
      20_000,
    );
    expect((await backend.get("kube_cluster", "b"))?.metadata.labels?.env).toBe("prod");
  }, 60_000);
}

test("a term's first reconcile compares everything again: an edit made while no one led is put back", async () => {
  h = await startHarness(
    { clusters: [{ name: "a", region: "us-east-1", tags: { env: "prod" } }] },
    makeConfig({
      group: "term-edit",
      pollInterval: "1s",
      lockTtl: "900ms",
      matchers: [{ tags: {}, setup_access: false }],
    }),
  );
  const inner = h.backend;
  let partitioned = false;
  const unreachable = () => Promise.reject(new Error("registry unreachable (test partition)"));
  const backend = Object.assign(Object.create(inner) as Backend, {
    acquireLock: (...a: Parameters<Backend["acquireLock"]>) =>
      partitioned ? unreachable() : inner.acquireLock(...a),
    renewLock: (...a: Parameters<Backend["renewLock"]>) =>
      partitioned ? unreachable() : inner.renewLock(...a),
  });
  const one = h.service({ holder: "one", backend });
  await one.start();
  await waitFor("a enrolled", async () => (await inner.get("kube_cluster", "a")) !== undefined, 20_000);
  partitioned = true;
  await waitFor("one to step down", () => !one.isLeader(), 20_000);
  const a = (await inner.get("kube_cluster", "a"))!;
  await inner.put({ ...a, metadata: { ...a.metadata, labels: { ...a.metadata.labels, env: "hacked" } } });
  partitioned = false;
  await waitFor("one elected again", () => one.isLeader(), 20_000);
  await waitFor(
    "a's label put back by the new term",
    async () => (await inner.get("kube_cluster", "a"))?.metadata.labels?.env === "prod",
    20_000,
  );
}, 60_000);
