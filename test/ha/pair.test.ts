// The HA pair (issue 5 items 1, 2, 7): two compiled `kubeport start` processes, one discovery group,
// one Redis Cluster (3 primaries + 3 replicas), the AWS simulator in its own process.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { DiscoveryStatus, KubeCluster, Watcher } from "../../src/registry/index.ts";
import type { SimClusterSeed } from "../../src/sim/index.ts";
import { spawnCaptured } from "../helpers/cli.ts";
import { HA_ACCOUNT, type Ha, type KubeportProcess, startHa, until } from "../helpers/ha.ts";
import { KUBECTL } from "../helpers/kubectl.ts";

const CLUSTERS: SimClusterSeed[] = [
  { name: "prod-web", region: "us-east-1", tags: { env: "prod" } },
  { name: "prod-db", region: "us-west-2", tags: { env: "prod" } },
  { name: "dev-web", region: "us-east-1", tags: { env: "dev" } },
];
const DISCOVERED = ["prod-db", "prod-web"];
const LIST = "eks:ListClusters";

/** Every discovery_status write seen on the change feed: who wrote it under which fencing token. */
interface StatusWrite {
  holder: string;
  token: number;
  at: number;
}

/** Waits until discovery has registered the prod clusters, adds user alice, and returns her kubeconfig per gateway. */
async function readyForAlice(ha: Ha): Promise<Record<string, string>> {
  const backend = await ha.registry();
  await until(
    async () => (await backend.list("kube_cluster")).length === DISCOVERED.length,
    30_000,
    "discovery to register the prod clusters",
  );
  await ha.addUser("alice");
  return Object.fromEntries(
    await Promise.all(ha.procs.map(async (p) => [p.name, await ha.kubeconfig(p, "alice")] as const)),
  );
}

async function kubectlVia(kubeconfig: string, context: string, args: string[]) {
  return spawnCaptured([KUBECTL, "--kubeconfig", kubeconfig, "--context", context, ...args], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: "/nonexistent",
      KUBECACHEDIR: `${kubeconfig}.cache`,
    },
    timeoutMs: 30_000,
    killSignal: "SIGKILL",
  });
}

/** The first ListClusters `proc` made after `since` (epoch ms), or undefined. */
async function firstPollAfter(ha: Ha, proc: KubeportProcess, since: number): Promise<number | undefined> {
  const calls = (await ha.awsCalls([LIST])).get(proc.name) ?? [];
  return calls.find((c) => c.at > since)?.at;
}

/**
 * Runs `ctl` while polling `routed` every 10 ms; returns when `routed` first held, measured from the
 * moment ctl returned (the change is made by then; 0 when it held even before) and from ctl's start.
 */
async function changeThenRouted(
  ha: Ha,
  args: string[],
  via: KubeportProcess,
  routed: () => Promise<boolean>,
): Promise<{ afterExitMs: number; afterStartMs: number }> {
  const start = Date.now();
  let seenAt: number | undefined;
  let exitAt: number | undefined;
  const watching = until(
    async () => {
      if (seenAt === undefined && (await routed())) seenAt = Date.now();
      return seenAt !== undefined && exitAt !== undefined;
    },
    10_000,
    `the other gateway to see ctl ${args.join(" ")}`,
    10,
  );
  const r = await ha.ctl(args, via);
  exitAt = Date.now();
  expect(r).toMatchObject({ code: 0 });
  await watching;
  return { afterExitMs: Math.max(0, seenAt! - exitAt), afterStartMs: seenAt! - start };
}

/** Polls `fn` every 10 ms; resolves with the ms from `t0` until it held. */
async function msUntil(
  t0: number,
  fn: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<number> {
  await until(fn, timeoutMs, what, 10);
  return Date.now() - t0;
}

/** Over several poll intervals only the lock holder calls AWS, and the lock does not move. */
async function exactlyOneWorkerPolls(ha: Ha): Promise<void> {
  const leader = await ha.waitLeader();
  const before = await ha.lock();
  await ha.sim.resetCalls();
  const t0 = Date.now();
  // Several poll intervals (1 s each).
  await Bun.sleep(5000);
  const after = await ha.lock();
  expect(after).toEqual(before!);
  const calls = await ha.awsCalls();
  const lists = new Map(
    [...calls].map(([name, cs]) => [name, cs.filter((c) => c.action === LIST && c.at >= t0)]),
  );
  const polling = [...lists].filter(([, cs]) => cs.length > 0).map(([name]) => name);
  expect(polling).toEqual([leader.name]);
  // Two regions per poll, at least three polls in 5 s.
  expect(lists.get(leader.name)!.length).toBeGreaterThanOrEqual(6);
  for (const p of ha.procs) if (p !== leader) expect(calls.get(p.name)).toEqual([]);
}

/** kubectl get pods through each gateway's own kubeconfig, for every discovered cluster. */
async function bothGatewaysServe(ha: Ha, kubeconfigs: Record<string, string>): Promise<void> {
  for (const p of ha.procs) {
    for (const cluster of DISCOVERED) {
      const r = await kubectlVia(kubeconfigs[p.name]!, cluster, ["get", "pods", "-o", "name"]);
      expect({ gateway: p.name, cluster, code: r.code, stderr: r.stderr }).toEqual({
        gateway: p.name,
        cluster,
        code: 0,
        stderr: "",
      });
      expect(r.stdout.trim().split("\n")).toEqual(["pod/web-0", "pod/web-1", "pod/web-2"]);
    }
  }
}

describe("HA pair on Redis Cluster (lock_ttl 3s, poll_interval 1s)", () => {
  const TTL = 3000;
  let ha: Ha;
  let watcher: Watcher | undefined;
  const statusWrites: StatusWrite[] = [];
  let token = "";
  let kubeconfigs: Record<string, string> = {};

  beforeAll(async () => {
    ha = await startHa({ clusters: CLUSTERS, lockTtl: "3s", pollInterval: "1s" });
    const backend = await ha.registry();
    watcher = backend.watch({ kinds: ["discovery_status"] }, (e) => {
      if (e.type !== "put") return;
      const s = (e.resource as DiscoveryStatus).spec;
      statusWrites.push({ holder: s.holder, token: s.fence_token, at: Date.now() });
    });
    kubeconfigs = await readyForAlice(ha);
    const signed = await ha.ctl(["auth", "sign", "--user", "alice", "--ttl", "1h"]);
    token = signed.stdout.trim();
  }, 120_000);

  afterAll(async () => {
    watcher?.close();
    await ha?.stop();
  }, 60_000);

  test("exactly one discovery worker polls at a time", () => exactlyOneWorkerPolls(ha), 30_000);

  test(
    "both gateways serve every discovered cluster (kubectl get pods through each)",
    () => bothGatewaysServe(ha, kubeconfigs),
    60_000,
  );

  test("a registry change made through one process is routed, then refused, by the other within 1 s", async () => {
    const [a, b] = ha.procs as [KubeportProcess, KubeportProcess];
    const backend = await ha.registry();
    const web = (await backend.get("kube_cluster", "prod-web")) as KubeCluster;
    // A hand-made cluster (no cloud origin, so discovery leaves it alone) on prod-web's API server.
    const manual: KubeCluster = {
      kind: "kube_cluster",
      version: "v1",
      metadata: { name: "manual-web", labels: { env: "manual" } },
      spec: web.spec,
    };
    const file = join(ha.dir, "manual-web.yaml");
    writeFileSync(file, stringify(manual));
    const version = () =>
      b
        .fetch("/v1/clusters/manual-web/version", { headers: { authorization: `Bearer ${token}` } })
        .then((r) => r.status);
    expect(await version()).toBe(404);

    const routed = await changeThenRouted(
      ha,
      ["create", "-f", file],
      a,
      async () => (await version()) === 200,
    );
    const gone = await changeThenRouted(
      ha,
      ["rm", "kube_cluster/manual-web"],
      a,
      async () => (await version()) === 404,
    );
    expect((await ha.ctl(["users", "add", "bob", "--roles", "admin"], a)).code).toBe(0);
    const bob = (await ha.ctl(["auth", "sign", "--user", "bob", "--ttl", "1h"], a)).stdout.trim();
    const asBob = () =>
      b
        .fetch("/v1/clusters/prod-web/version", { headers: { authorization: `Bearer ${bob}` } })
        .then((r) => r.status);
    expect(await asBob()).toBe(200);
    const userGone = await changeThenRouted(ha, ["rm", "user/bob"], a, async () => (await asBob()) === 401);

    const show = (x: { afterExitMs: number; afterStartMs: number }) =>
      `${x.afterExitMs} ms after ctl returned (${x.afterStartMs} ms after it started)`;
    console.log(
      `registry change via A → gateway B: routed ${show(routed)}; removed ${show(gone)}; user removed ${show(userGone)}`,
    );
    expect(routed.afterExitMs).toBeLessThan(1000);
    expect(gone.afterExitMs).toBeLessThan(1000);
    expect(userGone.afterExitMs).toBeLessThan(1000);
  }, 60_000);

  test("kill -9 of the leader: the other is leader within 2× lock TTL and polls; the old one rejoins as follower", async () => {
    const old = await ha.waitLeader();
    const other = ha.procs.find((p) => p !== old)!;
    const oldLock = (await ha.lock())!;
    const t0 = Date.now();
    await old.kill9();
    const electedMs = await msUntil(
      t0,
      async () => (await ha.leader()) === other,
      4 * TTL,
      `${other.name} to take the lock`,
    );
    const firstPoll = await until(() => firstPollAfter(ha, other, t0), 4 * TTL, `${other.name} to poll`);
    const newLock = (await ha.lock())!;
    console.log(
      `kill -9 failover (TTL ${TTL} ms): elected after ${electedMs} ms, first poll after ${firstPoll - t0} ms`,
    );
    expect(electedMs).toBeLessThan(2 * TTL);
    expect(firstPoll - t0).toBeLessThan(2 * TTL);
    expect(newLock.token).toBeGreaterThan(oldLock.token);
    expect(newLock.holder).toBe(other.id());
    await until(
      async () => {
        const s = (await (await ha.registry()).get("discovery_status", "ha")) as DiscoveryStatus | undefined;
        return s?.spec.holder === other.id() && s.spec.fence_token === newLock.token;
      },
      4 * TTL,
      "the new leader's discovery_status",
    );

    await old.start();
    await old.waitReady();
    await Bun.sleep(TTL);
    expect(await ha.lock()).toEqual(newLock);
  }, 60_000);

  test("a frozen (SIGSTOP) then resumed (SIGCONT) leader's stale view never reaches the registry, and it steps down", async () => {
    const backend = await ha.registry();
    const frozen = await ha.waitLeader();
    const other = ha.procs.find((p) => p !== frozen)!;
    const frozenLock = (await ha.lock())!;
    const labelsOfWeb = async () =>
      ((await backend.get("kube_cluster", "prod-web")) as KubeCluster).metadata.labels ?? {};
    const webPuts: { stage: string | undefined; at: number }[] = [];
    const w = backend.watch({ kinds: ["kube_cluster"] }, (e) => {
      if (e.type === "put" && e.resource.metadata.name === "prod-web")
        webPuts.push({ stage: e.resource.metadata.labels?.stage, at: Date.now() });
    });
    try {
      // Hold DescribeCluster in us-east-1 so the leader is frozen mid-poll, with AWS answering "stage=a".
      await ha.sim.resetCalls();
      await ha.sim.injectFault({
        kind: "latency",
        ms: 2500,
        region: "us-east-1",
        action: "DescribeCluster",
      });
      await until(
        async () =>
          ((await ha.awsCalls([LIST])).get(frozen.name) ?? []).some((c) => c.region === "us-east-1"),
        10_000,
        "the leader's next ListClusters in us-east-1",
        20,
      );
      await ha.sim.patchCluster(HA_ACCOUNT, "us-east-1", "prod-web", { tags: { stage: "a" } });
      await Bun.sleep(200);
      frozen.freeze();
      const tFrozen = Date.now();
      // The frozen leader's DescribeCluster is answered (into its socket) with stage=a; then AWS moves on.
      await Bun.sleep(2800);
      await ha.sim.clearFaults();
      await ha.sim.patchCluster(HA_ACCOUNT, "us-east-1", "prod-web", { tags: { stage: "b" } });

      await until(
        async () => (await ha.leader()) === other,
        4 * TTL,
        `${other.name} to take over from the frozen leader`,
      );
      const takeoverMs = Date.now() - tFrozen;
      await until(
        async () => (await labelsOfWeb()).stage === "b",
        4 * TTL,
        "the new leader to write stage=b",
      );
      const newLock = (await ha.lock())!;
      expect(newLock.token).toBeGreaterThan(frozenLock.token);

      const resumedAt = Date.now();
      frozen.resume();
      await until(
        () => frozen.logs().some((l) => l.msg === "lost leadership" && l.time >= resumedAt - 1000),
        2 * TTL,
        "the resumed leader to step down",
      ).catch((e) => {
        console.log(JSON.stringify(frozen.logs().slice(-15)));
        throw e;
      });
      // Give its stale poll every chance to land.
      await Bun.sleep(2000);
      expect((await labelsOfWeb()).stage).toBe("b");
      expect(webPuts.filter((p) => p.at >= resumedAt).map((p) => p.stage)).not.toContain("a");
      expect(await ha.lock()).toEqual(newLock);
      const staleStatus = statusWrites.filter((s) => s.at >= resumedAt && s.holder === frozen.id());
      expect(staleStatus).toEqual([]);
      const resumedLogs = frozen.logs().filter((l) => l.time >= resumedAt);
      expect(resumedLogs.filter((l) => l.msg === "kube_cluster updated")).toEqual([]);
      console.log(
        `SIGSTOP takeover after ${takeoverMs} ms; resumed leader: ${resumedLogs
          .filter((l) => l.level >= 40)
          .map((l) => `${l.msg} (${String(l.why ?? (l.err as { message?: string })?.message ?? "")})`)
          .join("; ")}`,
      );
    } finally {
      frozen.resume();
      w.close();
      await ha.sim.clearFaults();
    }
  }, 60_000);

  test("no two processes ever wrote under the same fencing token", async () => {
    expect(statusWrites.length).toBeGreaterThan(5);
    const holdersByToken = new Map<number, Set<string>>();
    for (const s of statusWrites) {
      if (!holdersByToken.has(s.token)) holdersByToken.set(s.token, new Set());
      holdersByToken.get(s.token)!.add(s.holder);
    }
    for (const [tok, holders] of holdersByToken)
      expect({ tok, holders: [...holders] }).toEqual({ tok, holders: [...holders].slice(0, 1) });
    expect(holdersByToken.size).toBeGreaterThanOrEqual(3);
    // The tokens each process was elected with (from its logs) are disjoint.
    const elected = ha.procs.map(
      (p) =>
        new Set(
          p
            .logs()
            .filter((l) => l.msg === "elected leader")
            .map((l) => l.token as number),
        ),
    );
    const [ea, eb] = elected as [Set<number>, Set<number>];
    expect([...ea].filter((t) => eb.has(t))).toEqual([]);
    // And every status write's token is one its writer was elected with.
    for (const s of statusWrites) {
      const i = ha.procs.findIndex((p) => p.id() === s.holder);
      expect(elected[i]!.has(s.token)).toBe(true);
    }
  });
});

describe("HA pair: graceful stop (lock_ttl 10s)", () => {
  const TTL = 10_000;
  let ha: Ha;
  beforeAll(async () => {
    ha = await startHa({ clusters: CLUSTERS.slice(0, 2), lockTtl: "10s", pollInterval: "2s" });
  }, 120_000);
  afterAll(async () => {
    await ha?.stop();
  }, 60_000);

  test("SIGTERM of the leader hands the lock over at once (no TTL wait)", async () => {
    const leader = await ha.waitLeader();
    const other = ha.procs.find((p) => p !== leader)!;
    const t0 = Date.now();
    const exited = leader.terminate();
    const firstPoll = await until(() => firstPollAfter(ha, other, t0), TTL, `${other.name} to poll`, 20);
    expect(await exited).toBe(0);
    const lock = await ha.lock();
    expect(lock?.holder).toBe(other.id());
    console.log(`SIGTERM hand-over (TTL ${TTL} ms): first poll by the other after ${firstPoll - t0} ms`);
    // The elector retries every TTL/3; "at once" is well inside that, far from the TTL.
    expect(firstPoll - t0).toBeLessThan(TTL / 2);
  }, 60_000);
});

describe("HA pair on Redis Sentinel (primary + replica, 3 sentinels)", () => {
  let ha: Ha;
  let kubeconfigs: Record<string, string> = {};
  beforeAll(async () => {
    ha = await startHa({ clusters: CLUSTERS, redis: "sentinel", lockTtl: "3s", pollInterval: "1s" });
    kubeconfigs = await readyForAlice(ha);
  }, 120_000);
  afterAll(async () => {
    await ha?.stop();
  }, 60_000);

  test("exactly one discovery worker polls at a time", () => exactlyOneWorkerPolls(ha), 30_000);
  test("both gateways serve every discovered cluster", () => bothGatewaysServe(ha, kubeconfigs), 60_000);
});
