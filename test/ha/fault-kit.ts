// Shared pieces of the HA fault tests: seeding records, comparing registry contents, per-gateway
// tokens, and a probe that keeps requesting through every gateway while a fault happens.
import type { Backend, Kind, Resource } from "../../src/registry/index.ts";
import { type Ha, type KubeportProcess, redisCli, until } from "../helpers/ha.ts";
import type { RedisNode } from "../helpers/redis.ts";

/** The kinds a Redis fault must not lose (instances and discovery status are rewritten all the time). */
export const DURABLE_KINDS: readonly Kind[] = ["kube_cluster", "role", "user", "token", "signing_key"];

export type RegistryContents = Record<string, Map<string, Resource>>;

/** Every record of the durable kinds, by kind then name. */
export async function registryContents(backend: Backend): Promise<RegistryContents> {
  const out: RegistryContents = {};
  for (const kind of DURABLE_KINDS)
    out[kind] = new Map((await backend.list(kind)).map((r) => [r.metadata.name, r]));
  return out;
}

/** Names in `before` that `after` no longer holds, or holds with different content, as "kind/name". */
export function lostOrChanged(before: RegistryContents, after: RegistryContents): string[] {
  const body = (r: Resource) => JSON.stringify({ ...r, metadata: { ...r.metadata, revision: undefined } });
  const out: string[] = [];
  for (const [kind, records] of Object.entries(before)) {
    for (const [name, r] of records) {
      const now = after[kind]?.get(name);
      if (!now) out.push(`${kind}/${name} lost`);
      else if (body(now) !== body(r)) out.push(`${kind}/${name} changed`);
    }
  }
  return out;
}

/** A role allowing only clusters whose `kubeport.dev/region` is `region`. */
export function regionRole(name: string, region: string): Resource {
  return {
    kind: "role",
    version: "v1",
    metadata: { name },
    spec: {
      allow: { kubernetes_labels: { "kubeport.dev/region": region }, kubernetes_groups: ["system:masters"] },
    },
  } as Resource;
}

/**
 * Users, roles and a join token, written well before any fault (then checked against the
 * replica), so asynchronous replication cannot excuse their loss.
 */
export async function seedRecords(ha: Ha): Promise<void> {
  const backend = await ha.registry();
  await ha.addUser("alice");
  await backend.put(regionRole("east-only", "us-east-1"));
  for (const [user, role] of [
    ["bob", "east-only"],
    ["carol", "admin"],
  ] as const) {
    const r = await ha.ctl(["users", "add", user, "--roles", role]);
    if (r.code !== 0) throw new Error(`users add ${user}: ${r.stderr}`);
  }
  const t = await ha.ctl(["tokens", "add", "--type=discovery,kube", "--ttl", "2h"]);
  if (t.code !== 0) throw new Error(`tokens add: ${t.stderr}`);
}

/** A kubeport token for `user` valid on `proc` (its issuer is that host's public_addr). */
export async function tokenFor(ha: Ha, proc: KubeportProcess, user: string): Promise<string> {
  const r = await ha.ctl(["auth", "sign", "--user", user, "--ttl", "2h"], proc);
  if (r.code !== 0) throw new Error(`auth sign --user ${user} via ${proc.name}: ${r.stderr}`);
  return r.stdout.trim();
}

export const podsPath = (cluster: string) => `/v1/clusters/${cluster}/api/v1/namespaces/default/pods`;

/** GET pods of `cluster` through `proc` with `token`; the HTTP status, or 0 when the request failed. */
export async function statusThrough(
  proc: KubeportProcess,
  token: string,
  cluster: string,
  timeoutMs = 5000,
): Promise<number> {
  try {
    const r = await proc.fetch(podsPath(cluster), {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await r.body?.cancel();
    return r.status;
  } catch {
    return 0;
  }
}

export interface ProbeResult {
  gateway: string;
  cluster: string;
  /** Milliseconds since the probe started. */
  at: number;
  status: number;
  expected: number;
  /** How long the request took. */
  ms: number;
}

export interface Probe {
  results: ProbeResult[];
  /** Stops after the requests in flight; resolves with every result. */
  stop(): Promise<ProbeResult[]>;
}

export interface ProbeTarget {
  proc: KubeportProcess;
  token: string;
  cluster: string;
  /** The status this request must keep getting (200 served, 403 refused by role). */
  expected: number;
}

/** Requests every target every `everyMs` until stopped (one request in flight per target). */
export function startProbe(targets: ProbeTarget[], everyMs = 250): Probe {
  const results: ProbeResult[] = [];
  const t0 = performance.now();
  let stopped = false;
  const loops = targets.map(async (t) => {
    while (!stopped) {
      const at = Math.round(performance.now() - t0);
      const status = await statusThrough(t.proc, t.token, t.cluster);
      const ms = Math.round(performance.now() - t0) - at;
      results.push({ gateway: t.proc.name, cluster: t.cluster, at, status, expected: t.expected, ms });
      await Bun.sleep(everyMs);
    }
  });
  return {
    results,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return results;
    },
  };
}

/** The probe results that did not get their expected status, as short strings for a readable failure. */
export const misses = (results: ProbeResult[]) =>
  results
    .filter((r) => r.status !== r.expected)
    .map((r) => `${r.gateway}/${r.cluster}@${r.at}ms: ${r.status} (want ${r.expected})`);

/** One line for the test log: how many requests, and the slowest. */
export const probeSummary = (what: string, results: ProbeResult[]) =>
  `${what}: ${results.length} requests through the gateways, ${misses(results).length} unexpected, slowest ${Math.max(0, ...results.map((r) => r.ms))} ms`;

/** The longest time without any process calling eks:ListClusters, from `since` (epoch ms) to now. */
export async function longestPollGap(ha: Ha, since: number): Promise<number> {
  const ats = [...(await ha.awsCalls(["eks:ListClusters"])).values()]
    .flat()
    .map((c) => c.at)
    .filter((at) => at >= since)
    .sort((x, y) => x - y);
  let gap = 0;
  for (let i = 1; i < ats.length; i++) gap = Math.max(gap, ats[i]! - ats[i - 1]!);
  return gap;
}

/** For a failure message: the leader lock and each process's log lines (not per-request) since `since`. */
export async function diagnose(ha: Ha, since: number): Promise<string> {
  const lines = [`lock (harness client): ${JSON.stringify(await ha.lock().catch((e) => String(e)))}`];
  const primary = await ha.redis.registryPrimary().catch(() => undefined);
  if (primary) {
    const names = await redisCli(primary.port, "hkeys", "{kubeport}:r:kube_cluster");
    const lock = await redisCli(
      primary.port,
      "get",
      `{kubeport}:lock:discovery/${ha.procs[0]?.group || "default"}`,
    );
    lines.push(
      `primary ${primary.addr}: kube_clusters ${names.trim().split("\n").join(",")}; lock ${lock.trim()}`,
    );
  }
  for (const p of ha.procs) {
    lines.push(`--- ${p.name} (${p.alive() ? "alive" : "dead"}, id ${p.id()})`);
    for (const l of p.logs()) {
      const at = l.time - since;
      if (at < 0 || l.msg === "kube request") continue;
      const why = l.err ?? l.why ?? "";
      lines.push(`${at} ms ${l.msg} ${typeof why === "string" ? why : JSON.stringify(why)}`.slice(0, 300));
    }
  }
  return lines.join("\n");
}

const offsetOf = (info: string, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(info)?.[1] ?? -1);

/** Waits until every replica of the primary on `port` has the primary's current replication offset. */
export async function replicasCaughtUp(port: number, timeoutMs = 15_000): Promise<void> {
  const target = offsetOf(await redisCli(port, "info", "replication"), "master_repl_offset");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await redisCli(port, "info", "replication");
    const offsets = [...info.matchAll(/slave\d+:.*offset=(\d+)/g)].map((m) => Number(m[1]));
    if (offsets.length > 0 && offsets.every((o) => o >= target)) return;
    if (Date.now() > deadline)
      throw new Error(`replicas of :${port} did not reach offset ${target}: ${info}`);
    await Bun.sleep(100);
  }
}

/**
 * A failover the operator asks for: Sentinel's `SENTINEL FAILOVER` (promotes the replica without
 * waiting for it to catch up), or on a Cluster `CLUSTER FAILOVER FORCE` sent to the replica of the
 * registry's primary. Resolves once the old primary replicates from the new one.
 */
export async function gracefulFailover(ha: Ha): Promise<{ before: RedisNode; after: RedisNode }> {
  const before = await ha.redis.registryPrimary();
  if (ha.redis.kind === "sentinel") {
    const s = ha.redis.sentinel!;
    const out = await redisCli(s.sentinelNodes[0]!.port, "sentinel", "failover", s.name);
    if (out.trim() !== "OK") throw new Error(`SENTINEL FAILOVER: ${out}`);
  } else {
    const myId = (await redisCli(before.port, "cluster", "myid")).trim();
    const nodes = await redisCli(before.port, "cluster", "nodes");
    const line = nodes.split("\n").find((l) => l.split(" ")[3] === myId && l.includes("slave"));
    const addr = line?.split(" ")[1]?.split("@")[0];
    const replica = ha.redis.nodes().find((n) => n.addr === addr);
    if (!replica) throw new Error(`no replica of ${before.addr} in: ${nodes}`);
    const out = await redisCli(replica.port, "cluster", "failover", "force");
    if (out.trim() !== "OK") throw new Error(`CLUSTER FAILOVER FORCE: ${out}`);
  }
  const after = await until(
    async () => {
      const p = await ha.redis.registryPrimary().catch(() => undefined);
      return p && p.port !== before.port ? p : undefined;
    },
    30_000,
    "the replica to become the registry's primary",
    100,
  );
  await until(
    async () => (await redisCli(before.port, "info", "replication")).includes("master_link_status:up"),
    30_000,
    "the old primary to replicate from the new one",
    200,
  );
  return { before, after };
}

export interface WritesThroughFailover {
  /** Users whose `ctl users add` exited 0. */
  acknowledged: string[];
  /** Acknowledged, and not on the new primary afterwards. */
  lost: string[];
  /** The runs that did not exit 0: name, exit code, stderr. */
  notDone: { name: string; code: number; stderr: string }[];
  runs: number;
}

/** `ctl users add` in `loops` loops from `leadMs` before a graceful failover until `tailMs` after it. */
export async function writesThroughFailover(
  ha: Ha,
  { loops = 2, leadMs = 1500, tailMs = 2000, prefix = "ack" } = {},
): Promise<WritesThroughFailover> {
  await replicasCaughtUp((await ha.redis.registryPrimary()).port);
  let stop = false;
  const outcomes: { name: string; code: number; stderr: string }[] = [];
  const loop = async (n: number) => {
    for (let i = 0; !stop; i++) {
      const name = `${prefix}-${n}-${i}`;
      const r = await ha.ctl(["users", "add", name, "--roles", "admin"]);
      outcomes.push({ name, code: r.code, stderr: r.stderr });
    }
  };
  const running = Array.from({ length: loops }, (_, n) => loop(n + 1));
  await Bun.sleep(leadMs);
  const { after } = await gracefulFailover(ha);
  await Bun.sleep(tailMs);
  stop = true;
  await Promise.all(running);
  await replicasCaughtUp(after.port);
  const stored = new Set((await redisCli(after.port, "hkeys", "{kubeport}:r:user")).trim().split("\n"));
  const acknowledged = outcomes.filter((o) => o.code === 0).map((o) => o.name);
  return {
    acknowledged,
    lost: acknowledged.filter((n) => !stored.has(n)),
    notDone: outcomes.filter((o) => o.code !== 0),
    runs: outcomes.length,
  };
}
