// Issue 5 items 3 and 4: the HA pair (two `kubeport start` binaries) across Redis faults — the
// registry's primary killed (Cluster, Sentinel) and Redis fully down for 30 s — loses no record,
// keeps serving, reconnects and resyncs by itself.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Ha, type KubeportProcess, type RedisKind, startHa, until } from "../helpers/ha.ts";
import { kubectl, kubectlEnv } from "../helpers/kubectl.ts";
import type { RedisNode } from "../helpers/redis.ts";
import {
  diagnose,
  longestPollGap,
  lostOrChanged,
  misses,
  type ProbeTarget,
  probeSummary,
  regionRole,
  registryContents,
  replicasCaughtUp,
  seedRecords,
  startProbe,
  statusThrough,
  tokenFor,
} from "./fault-kit.ts";

const CLUSTERS = [
  { name: "prod-east", region: "us-east-1", tags: { env: "prod" } },
  { name: "prod-west", region: "us-west-2", tags: { env: "prod" } },
];

interface Pair {
  ha: Ha;
  a: KubeportProcess;
  b: KubeportProcess;
  /** user → gateway name → token. */
  tokens: Record<string, Record<string, string>>;
}

/** The pair with both clusters served by both gateways and the seed records replicated. */
async function startPair(redis: RedisKind): Promise<Pair> {
  const ha = await startHa({
    clusters: CLUSTERS,
    redis,
    pollInterval: "1s",
    lockTtl: "3s",
    podsPerCluster: 2,
  });
  try {
    const [a, b] = [ha.proc("a"), ha.proc("b")];
    await seedRecords(ha);
    const tokens: Pair["tokens"] = {};
    for (const user of ["alice", "bob"]) {
      tokens[user] = {};
      for (const p of [a, b]) tokens[user]![p.name] = await tokenFor(ha, p, user);
    }
    await until(
      async () => {
        for (const p of [a, b])
          for (const c of CLUSTERS)
            if ((await statusThrough(p, tokens.alice![p.name]!, c.name)) !== 200) return false;
        return true;
      },
      60_000,
      "both gateways serving both clusters",
      200,
    );
    return { ha, a, b, tokens };
  } catch (err) {
    await ha.stop();
    throw err;
  }
}

/** alice reaches both clusters; bob (role east-only) reaches prod-east and is refused prod-west. */
function targets(p: Pair): ProbeTarget[] {
  return [p.a, p.b].flatMap((proc) => [
    { proc, token: p.tokens.alice![proc.name]!, cluster: "prod-east", expected: 200 },
    { proc, token: p.tokens.alice![proc.name]!, cluster: "prod-west", expected: 200 },
    { proc, token: p.tokens.bob![proc.name]!, cluster: "prod-east", expected: 200 },
    { proc, token: p.tokens.bob![proc.name]!, cluster: "prod-west", expected: 403 },
  ]);
}

async function kubectlGetPods(p: Pair, proc: KubeportProcess) {
  const env = kubectlEnv({
    server: `${proc.url}/v1/clusters/prod-east`,
    token: p.tokens.alice![proc.name]!,
    caPem: proc.caPem(),
  });
  try {
    return await kubectl(env, ["get", "pods", "-o", "name"], { timeoutMs: 30_000 });
  } finally {
    env.cleanup();
  }
}

/** Every kubectl run during a fault listed the pods, cleanly. */
function expectPodsListed(runs: Awaited<ReturnType<typeof kubectlGetPods>>[]): void {
  for (const r of runs)
    expect({ code: r.code, stderr: r.stderr, out: r.stdout.trim() }).toEqual({
      code: 0,
      stderr: "",
      out: "pod/web-0\npod/web-1",
    });
}

/** A cluster added to AWS now is discovered and served by both gateways. */
async function discoveryResumes(p: Pair, name: string, faultAt: number): Promise<void> {
  await p.ha.sim.addCluster({ name, region: "us-east-1", tags: { env: "prod" } });
  const backend = await p.ha.registry();
  await until(
    async () => (await backend.get("kube_cluster", name).catch(() => undefined)) !== undefined,
    60_000,
    `kube_cluster ${name} in the registry`,
    200,
  ).catch(async (err) => {
    throw new Error(`${(err as Error).message}\n${await diagnose(p.ha, faultAt - 2000)}`);
  });
  await until(
    async () =>
      (await statusThrough(p.a, p.tokens.alice!.a!, name)) === 200 &&
      (await statusThrough(p.b, p.tokens.alice!.b!, name)) === 200,
    10_000,
    `${name} served by both gateways`,
    100,
  );
}

const pairs: Partial<Record<RedisKind, Pair>> = {};
let startedAt = 0;
let frozen: RedisNode[] = [];

beforeAll(async () => {
  startedAt = Date.now();
  const [cluster, sentinel] = await Promise.allSettled([startPair("cluster"), startPair("sentinel")]);
  if (cluster.status === "fulfilled") pairs.cluster = cluster.value;
  if (sentinel.status === "fulfilled") pairs.sentinel = sentinel.value;
  for (const r of [cluster, sentinel]) if (r.status === "rejected") throw r.reason;
}, 150_000);

afterAll(async () => {
  for (const n of frozen) process.kill(n.pid(), "SIGCONT");
  await Promise.all(Object.values(pairs).map((p) => p.ha.stop()));
}, 60_000);

/**
 * Faults meet gateways that have run a while: their last registry snapshot is older than the
 * 30 s a gateway trusts cached signing keys for without news from the registry.
 */
const agedGateways = () => Bun.sleep(Math.max(0, startedAt + 35_000 - Date.now()));

for (const redis of ["cluster", "sentinel"] as const) {
  test(`Redis ${redis}: the registry's primary is killed; a replica is promoted; both processes reconnect by themselves; nothing is lost; discovery resumes; both gateways keep serving`, async () => {
    const p = pairs[redis]!;
    const { ha, a, b } = p;
    const backend = await ha.registry();
    const victim = await ha.redis.registryPrimary();
    // Records written well before the kill and already on the replica: their loss would be a bug.
    await replicasCaughtUp(victim.port);
    const before = await registryContents(backend);
    expect(before.kube_cluster!.size).toBe(2);
    expect(before.user!.size).toBe(3);
    expect(before.token!.size).toBe(1);
    const pids = [a.pid(), b.pid()];

    const probe = startProbe(targets(p));
    await agedGateways();
    await Bun.sleep(1000);
    const killedAt = Date.now();
    await victim.kill();
    // kubectl through both gateways while the replica has not been promoted yet.
    const during = await Promise.all([kubectlGetPods(p, a), kubectlGetPods(p, b)]);
    const promoted: RedisNode = await until(
      async () => {
        const n = await ha.redis.registryPrimary().catch(() => undefined);
        return n && n !== victim ? n : undefined;
      },
      30_000,
      "a promoted replica",
      200,
    );
    expect(promoted.port).not.toBe(victim.port);
    for (const proc of [a, b])
      await until(
        async () => (await proc.fetch("/readyz").catch(() => undefined))?.status === 200,
        30_000,
        `${proc.name} /readyz`,
        200,
      ).catch(async (err) => {
        const why = await proc
          .fetch("/readyz")
          .then((r) => r.text())
          .catch((e) => String(e));
        throw new Error(`${(err as Error).message} (last: ${why})\n${await diagnose(ha, killedAt - 2000)}`);
      });
    await Bun.sleep(1000);
    const results = await probe.stop();
    console.info(probeSummary(`${redis} primary killed`, results));

    expectPodsListed(during);
    expect(misses(results)).toEqual([]);
    expect(results.length).toBeGreaterThan(40);
    expect([a.pid(), b.pid()]).toEqual(pids);
    expect([a.alive(), b.alive()]).toEqual([true, true]);

    // The promoted replica has no replica of its own, so no lease (and no durable write) can be
    // confirmed: discovery waits. The old primary restarts and rejoins as its replica.
    const restartedAt = Date.now();
    await victim.restart();
    await discoveryResumes(p, "prod-after-failover", killedAt);
    console.info(
      `${redis} primary killed: discovery paused ${await longestPollGap(ha, killedAt - 2000)} ms at most (${
        restartedAt - killedAt
      } ms until the old primary was restarted as a replica)`,
    );
    expect(await ha.waitLeader()).toBeDefined();
    expect(lostOrChanged(before, await registryContents(backend))).toEqual([]);
  }, 120_000);
}

describe("Redis Cluster fully down (every node frozen) for 30 s", () => {
  const listCalls = async () => {
    const calls = await pairs.cluster!.ha.awsCalls(["eks:ListClusters"]);
    return [...calls.values()].reduce((n, c) => n + c.length, 0);
  };

  test("gateways serve what they knew with the roles they knew, /readyz is 503 degraded, discovery pauses and deletes nothing, and everything resyncs after", async () => {
    const p = pairs.cluster!;
    const { ha, a, b } = p;
    const backend = await ha.registry();
    const before = await registryContents(backend);
    const probe = startProbe(targets(p));
    await agedGateways();
    await Bun.sleep(1000);

    frozen = ha.redis.nodes().filter((n) => n.alive());
    for (const n of frozen) process.kill(n.pid(), "SIGSTOP");
    const frozenAt = Date.now();
    for (const proc of [a, b]) {
      await until(
        async () => {
          const r = await proc.fetch("/readyz").catch(() => undefined);
          return r?.status === 503 && (await r.text()) === "degraded: registry unavailable";
        },
        10_000,
        `${proc.name} /readyz degraded`,
        200,
      );
    }
    // The leader steps down once its renewals time out; from then on nobody polls AWS.
    await Bun.sleep(Math.max(0, frozenAt + 12_000 - Date.now()));
    const callsPaused = await listCalls();
    const during = await Promise.all([kubectlGetPods(p, a), kubectlGetPods(p, b)]);
    await Bun.sleep(Math.max(0, frozenAt + 30_000 - Date.now()));
    const callsAtEnd = await listCalls();
    const stillDegraded = await Promise.all([a, b].map(async (proc) => (await proc.fetch("/readyz")).status));

    for (const n of frozen) process.kill(n.pid(), "SIGCONT");
    frozen = [];
    for (const proc of [a, b])
      await until(
        async () => (await proc.fetch("/readyz").catch(() => undefined))?.status === 200,
        30_000,
        `${proc.name} /readyz ok`,
        200,
      );
    const results = await probe.stop();
    console.info(probeSummary("redis fully down 30 s", results));

    expect(stillDegraded).toEqual([503, 503]);
    expectPodsListed(during);
    expect(misses(results)).toEqual([]);
    expect(callsAtEnd - callsPaused).toBe(0);

    // Discovery polls again (a new leader's ListClusters) and deleted nothing.
    await until(async () => (await listCalls()) > callsAtEnd, 30_000, "a discovery poll after recovery", 200);
    expect(lostOrChanged(before, await registryContents(backend))).toEqual([]);

    // A change made now is routed by both gateways within 1 s.
    const widened = regionRole("east-only", "*");
    await backend.put(widened);
    const t0 = performance.now();
    await until(
      async () =>
        (await statusThrough(a, p.tokens.bob!.a!, "prod-west", 1000)) === 200 &&
        (await statusThrough(b, p.tokens.bob!.b!, "prod-west", 1000)) === 200,
      5000,
      "bob reaching prod-west through both gateways",
      20,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    await discoveryResumes(p, "prod-after-outage", frozenAt);
    console.info(
      `redis fully down 30 s: discovery paused ${await longestPollGap(ha, frozenAt - 2000)} ms at most`,
    );
  }, 170_000);
});
