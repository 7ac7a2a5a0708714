// bench:ha — the HA pair from the compiled binary (test/helpers/ha.ts: AWS simulator, Redis Cluster
// 3+3, two `kubeport start`): discovery failover (leader kill -9 and SIGTERM → first ListClusters by
// the new leader), a registry change → routed by each gateway (p50/p99), and proxied GET req/s of
// both gateways together vs one (wrk).
//   bun scripts/bench-ha.ts [--trials 5] [--changes 100] [--lock-ttl 3s] [--seconds 8] [--rounds 3] [--redis cluster|sentinel]
import { parseArgs } from "node:util";
import type { Resource } from "../src/registry/index.ts";
import { regionRole, statusThrough, tokenFor } from "../test/ha/fault-kit.ts";
import { type Ha, type KubeportProcess, type RedisKind, startHa, until } from "../test/helpers/ha.ts";

const { values: args } = parseArgs({
  options: {
    trials: { type: "string", default: "5" },
    changes: { type: "string", default: "100" },
    "lock-ttl": { type: "string", default: "3s" },
    seconds: { type: "string", default: "8" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
    redis: { type: "string", default: "cluster" },
  },
});
const TRIALS = Number(args.trials);
const CHANGES = Number(args.changes);
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};
const median = (xs: number[]) => pct(xs, 50);
const ms = (x: number) => `${Math.round(x)} ms`;
const log = (s: string) => process.stderr.write(`${s}\n`);

/** The first eks:ListClusters call by `proc` at or after `since` (epoch ms), if any yet. */
async function firstPollBy(ha: Ha, proc: KubeportProcess, since: number): Promise<number | undefined> {
  const calls = (await ha.awsCalls(["eks:ListClusters"])).get(proc.name) ?? [];
  return calls.find((c) => c.at >= since)?.at;
}

/** Stops the leader `how`, measures until the other process polls AWS, then brings it back. */
async function failoverTrial(ha: Ha, how: "kill -9" | "SIGTERM"): Promise<number> {
  const leader = await ha.waitLeader();
  const other = ha.procs.find((p) => p !== leader)!;
  await until(
    async () => (await firstPollBy(ha, leader, Date.now() - 1500)) !== undefined,
    10_000,
    "the leader polling",
  );
  await ha.sim.resetCalls();
  const stoppedAt = Date.now();
  if (how === "kill -9") await leader.kill9();
  else await leader.terminate();
  const polledAt = await until(
    () => firstPollBy(ha, other, stoppedAt),
    60_000,
    "the new leader's first poll",
    20,
  );
  await leader.start();
  await leader.waitReady();
  return polledAt - stoppedAt;
}

const ALLOW_ALL = regionRole("bench-toggle", "*");
const ALLOW_NONE = regionRole("bench-toggle", "nowhere");

/** Flips bob's role CHANGES times; for each, how long until each gateway answers with the new decision. */
async function changeLatency(ha: Ha): Promise<Record<string, number[]>> {
  const backend = await ha.registry();
  await backend.put(ALLOW_NONE);
  const r = await ha.ctl(["users", "add", "bob", "--roles", "bench-toggle"]);
  if (r.code !== 0 && !r.stderr.includes("already exists")) throw new Error(`users add bob: ${r.stderr}`);
  const tokens = new Map(
    await Promise.all(ha.procs.map(async (p) => [p.name, await tokenFor(ha, p, "bob")] as const)),
  );
  const out: Record<string, number[]> = Object.fromEntries(ha.procs.map((p) => [p.name, []]));
  for (const p of ha.procs)
    await until(
      async () => (await statusThrough(p, tokens.get(p.name)!, "prod-east")) === 403,
      10_000,
      "bob refused",
    );
  for (let i = 0; i < CHANGES; i++) {
    const allow = i % 2 === 0;
    const role: Resource = allow ? ALLOW_ALL : ALLOW_NONE;
    const want = allow ? 200 : 403;
    const t0 = performance.now();
    await backend.put(role);
    await Promise.all(
      ha.procs.map(async (p) => {
        while ((await statusThrough(p, tokens.get(p.name)!, "prod-east", 2000)) !== want) {
          if (performance.now() - t0 > 10_000) throw new Error(`change ${i} not routed by ${p.name} in 10 s`);
        }
        out[p.name]!.push(performance.now() - t0);
      }),
    );
  }
  return out;
}

/** One wrk run; its req/s. */
async function wrk(url: string, token: string, connections: number, threads: number): Promise<number> {
  const p = Bun.spawn(
    ["wrk", `-t${threads}`, `-c${connections}`, `-d${SECONDS}s`, "-H", `Authorization: Bearer ${token}`, url],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  const rps = Number(/Requests\/sec:\s*([\d.]+)/.exec(out)?.[1]);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  if (code !== 0 || !Number.isFinite(rps)) throw new Error(`wrk failed (${code}): ${out}`);
  if (errors) throw new Error(`wrk got ${errors} non-2xx responses from ${url}`);
  return rps;
}

/** Proxied pod-list req/s: one gateway with all CONNECTIONS, then both with half each, ROUNDS times. */
async function throughput(ha: Ha): Promise<{ one: number[]; both: number[] }> {
  await ha.addUser("alice");
  const targets = await Promise.all(
    ha.procs.map(async (p) => ({
      url: `${p.url}/v1/clusters/prod-east/api/v1/namespaces/default/pods`,
      token: await tokenFor(ha, p, "alice"),
    })),
  );
  const one: number[] = [];
  const both: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    one.push(await wrk(targets[0]!.url, targets[0]!.token, CONNECTIONS, 2));
    const each = await Promise.all(targets.map((t) => wrk(t.url, t.token, CONNECTIONS / 2, 1)));
    both.push(each.reduce((a, b) => a + b, 0));
    log(`  round ${round + 1}: one ${Math.round(one.at(-1)!)} req/s, both ${Math.round(both.at(-1)!)} req/s`);
  }
  return { one, both };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ")).join("\n");
}

const ha = await startHa({
  clusters: [
    { name: "prod-east", region: "us-east-1", tags: { env: "prod" } },
    { name: "prod-west", region: "us-west-2", tags: { env: "prod" } },
  ],
  redis: args.redis as RedisKind,
  pollInterval: "1s",
  lockTtl: args["lock-ttl"],
  severity: "WARN",
  podsPerCluster: 3,
});
try {
  log(
    `bench:ha — Redis ${args.redis}, lock_ttl ${args["lock-ttl"]}, poll_interval 1s, ${navigator.hardwareConcurrency} CPUs`,
  );
  const kills: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    kills.push(await failoverTrial(ha, "kill -9"));
    log(`  kill -9 trial ${i + 1}: ${ms(kills.at(-1)!)}`);
  }
  const terms: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    terms.push(await failoverTrial(ha, "SIGTERM"));
    log(`  SIGTERM trial ${i + 1}: ${ms(terms.at(-1)!)}`);
  }
  log(`  ${CHANGES} registry changes…`);
  const routed = await changeLatency(ha);
  log("  throughput…");
  const tp = await throughput(ha);
  const ttlMs = Number.parseFloat(args["lock-ttl"]!) * 1000;

  console.log("\nFailover: leader stopped → first ListClusters by the other process");
  console.log(
    table([
      ["how", "trials (ms)", "median", "median / lock_ttl"],
      ["kill -9", kills.map(Math.round).join(", "), ms(median(kills)), (median(kills) / ttlMs).toFixed(2)],
      ["SIGTERM", terms.map(Math.round).join(", "), ms(median(terms)), (median(terms) / ttlMs).toFixed(2)],
    ]),
  );
  console.log(`\nRegistry change (role put) → routed by each gateway, ${CHANGES} changes`);
  console.log(
    table([
      ["gateway", "p50", "p99", "max"],
      ...Object.entries(routed).map(([name, xs]) => [
        name,
        ms(pct(xs, 50)),
        ms(pct(xs, 99)),
        ms(Math.max(...xs)),
      ]),
    ]),
  );
  const ratios = tp.both.map((b, i) => b / tp.one[i]!);
  console.log(
    `\nProxied GET pods (wrk, ${CONNECTIONS} connections in all, ${SECONDS} s × ${ROUNDS} rounds; medians)`,
  );
  console.log(
    table([
      ["target", "req/s", "rounds", "ratio"],
      ["one gateway", String(Math.round(median(tp.one))), tp.one.map(Math.round).join(", "), "1.00"],
      [
        "both gateways",
        String(Math.round(median(tp.both))),
        tp.both.map(Math.round).join(", "),
        median(ratios).toFixed(2),
      ],
    ]),
  );
} finally {
  await ha.stop();
}
