// bench:ha — the HA pair from the compiled binary (test/helpers/ha.ts: AWS simulator, Redis Cluster
// 3+3, two `kubeport start`, one certificate behind a TCP load balancer): discovery takeover (leader
// kill -9 and SIGTERM → first ListClusters by the new leader), acknowledged writes lost through a
// graceful Redis failover (`ctl users add` in two loops), the drain (SIGTERM of the gateway holding
// a kubectl watch and exec → exit, and what the clients and the load balancer saw), a registry
// change → routed by each gateway (p50/p99), and proxied GET req/s of both gateways vs one (wrk).
//   bun scripts/bench-ha.ts [--sections failover,acks,drain,changes,throughput] [--trials 5]
//     [--failovers 3] [--drains 2] [--grace 5s|default] [--delay 0s] [--changes 100] [--lock-ttl 3s]
//     [--seconds 8] [--rounds 3] [--redis cluster|sentinel]
// KUBEPORT_TEST_BINARY=<an older build> measures that build (with --grace default: it may not
// know the shutdown settings).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createCa, issueServerCert } from "../src/lib/x509.ts";
import type { Resource } from "../src/registry/index.ts";
import {
  podsPath,
  regionRole,
  statusThrough,
  tokenFor,
  writesThroughFailover,
} from "../test/ha/fault-kit.ts";
import { type Ha, type KubeportProcess, type RedisKind, startHa, until } from "../test/helpers/ha.ts";
import {
  type KubectlEnv,
  kubectl,
  kubectlEnv,
  kubectlInteractive,
  kubectlStream,
} from "../test/helpers/kubectl.ts";
import { startTcpLb, type TcpLb } from "../test/helpers/tcp-lb.ts";

const { values: args } = parseArgs({
  options: {
    trials: { type: "string", default: "5" },
    changes: { type: "string", default: "100" },
    "lock-ttl": { type: "string", default: "3s" },
    seconds: { type: "string", default: "8" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
    redis: { type: "string", default: "cluster" },
    sections: { type: "string", default: "failover,acks,drain,changes,throughput" },
    failovers: { type: "string", default: "3" },
    drains: { type: "string", default: "2" },
    grace: { type: "string", default: "5s" },
    delay: { type: "string", default: "0s" },
  },
});
const SECTIONS = new Set(args.sections!.split(","));
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

/** Graceful failovers with `ctl users add` running: acknowledged writes lost (issue 17 §2). */
async function ackTrials(ha: Ha) {
  const rows: { runs: number; acknowledged: number; lost: number; codes: string }[] = [];
  for (let i = 0; i < Number(args.failovers); i++) {
    const r = await writesThroughFailover(ha, { prefix: `bench${i}` });
    const codes = new Map<number, number>();
    for (const o of r.notDone) codes.set(o.code, (codes.get(o.code) ?? 0) + 1);
    rows.push({
      runs: r.runs,
      acknowledged: r.acknowledged.length,
      lost: r.lost.length,
      codes: [...codes].map(([c, n]) => `${n}× exit ${c}`).join(", ") || "-",
    });
    log(`  failover ${i + 1}: ${r.acknowledged.length} acknowledged, ${r.lost.length} lost`);
    // Sentinel refuses a second failover of one master within 2 × failover-timeout (5 s here).
    await Bun.sleep(args.redis === "sentinel" ? 11_000 : 3000);
  }
  return rows;
}

/** SIGTERM of the gateway holding a kubectl watch and exec (through the load balancer). */
async function drainTrial(ha: Ha, lb: TcpLb, env: KubectlEnv, token: string, caPem: string) {
  const [a] = ha.procs as [KubeportProcess];
  await until(() => lb.healthy().includes("a"), 30_000, "a healthy behind the load balancer", 100);
  const statuses: number[] = [];
  let stop = false;
  const probe = (async () => {
    while (!stop) {
      statuses.push(
        await fetch(`https://127.0.0.1:${lb.port}${podsPath("prod-east")}`, {
          headers: { authorization: `Bearer ${token}` },
          tls: { ca: caPem },
          signal: AbortSignal.timeout(5000),
        })
          .then(async (r) => {
            await r.body?.cancel();
            return r.status;
          })
          .catch(() => 0),
      );
      await Bun.sleep(100);
    }
  })();
  const watch = kubectlStream(env, ["get", "pods", "-w", "-o", "name"], { timeoutMs: 300_000 });
  const exec = kubectlInteractive(env, ["exec", "-i", "web-0", "--", "cat"]);
  try {
    await watch.waitFor((o) => o.includes("pod/web-0"));
    exec.stdin.write("hi\n");
    exec.stdin.flush();
    await exec.waitFor((o) => o.includes("hi"), "exec echo");
    const t0 = performance.now();
    const code = await a.terminate(120_000);
    const exitMs = performance.now() - t0;
    const ended = (p: Promise<number>) => Promise.race([p, Bun.sleep(10_000).then(() => -1)]);
    const watchCode = await ended(watch.exited);
    const execCode = await ended(exec.proc.exited);
    await Bun.sleep(1000);
    stop = true;
    await probe;
    return {
      exitMs,
      code,
      watch: `exit ${watchCode}${watch.stderr().trim() ? `: ${watch.stderr().trim().split("\n").at(-1)}` : ""}`,
      exec: `exit ${execCode}: ${exec.stderr().trim().split("\n").at(-1) ?? ""}`,
      failed: statuses.filter((x) => x !== 200).length,
      requests: statuses.length,
    };
  } finally {
    stop = true;
    await probe;
    await watch.stop();
    exec.proc.kill("SIGKILL");
    await a.start();
    await a.waitReady();
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ")).join("\n");
}

// One certificate for both gateways, as behind a real load balancer.
const certDir = mkdtempSync(join(tmpdir(), "kubeport-bench-ha-"));
const ca = await createCa("bench:ha CA");
const pair = await issueServerCert(ca, {
  commonName: "kubeport",
  dnsNames: ["localhost"],
  ipAddresses: ["127.0.0.1"],
});
writeFileSync(join(certDir, "tls.crt"), pair.certPem);
writeFileSync(join(certDir, "tls.key"), pair.keyPem, { mode: 0o600 });
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
  caPem: ca.certPem,
  proxy: {
    https_keypairs: [{ cert_file: join(certDir, "tls.crt"), key_file: join(certDir, "tls.key") }],
    ...(args.grace === "default" ? {} : { shutdown_grace: args.grace, shutdown_delay: args.delay }),
  },
});
try {
  log(
    `bench:ha — Redis ${args.redis}, lock_ttl ${args["lock-ttl"]}, poll_interval 1s, ${navigator.hardwareConcurrency} CPUs`,
  );
  const ttlMs = Number.parseFloat(args["lock-ttl"]!) * 1000;
  await ha.addUser("alice");
  if (SECTIONS.has("failover")) {
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
    console.log("\nTakeover: leader stopped → first ListClusters by the other process");
    console.log(
      table([
        ["how", "trials (ms)", "median", "median / lock_ttl"],
        ["kill -9", kills.map(Math.round).join(", "), ms(median(kills)), (median(kills) / ttlMs).toFixed(2)],
        ["SIGTERM", terms.map(Math.round).join(", "), ms(median(terms)), (median(terms) / ttlMs).toFixed(2)],
      ]),
    );
  }
  if (SECTIONS.has("acks")) {
    const rows = await ackTrials(ha);
    const how = args.redis === "sentinel" ? "SENTINEL FAILOVER" : "CLUSTER FAILOVER FORCE";
    console.log(`\nAcknowledged writes through a graceful failover (${how}; ctl users add in 2 loops)`);
    console.log(
      table([
        ["trial", "ctl runs", "exit 0", "exit 0 but lost", "not done"],
        ...rows.map((r, i) => [
          String(i + 1),
          String(r.runs),
          String(r.acknowledged),
          String(r.lost),
          r.codes,
        ]),
      ]),
    );
    console.log(
      `acknowledged-write loss: ${rows.reduce((n, r) => n + r.lost, 0)} of ${rows.reduce((n, r) => n + r.acknowledged, 0)}`,
    );
  }
  if (SECTIONS.has("drain")) {
    const [a, b] = ha.procs as [KubeportProcess, KubeportProcess];
    const lb = await startTcpLb(
      [
        { name: "a", port: a.port },
        { name: "b", port: b.port },
      ],
      { caPem: ca.certPem },
    );
    const token = await tokenFor(ha, a, "alice");
    const env = kubectlEnv({
      server: `https://127.0.0.1:${lb.port}/v1/clusters/prod-east`,
      token,
      caPem: ca.certPem,
    });
    try {
      await until(
        async () => (await kubectl(env, ["get", "pods", "-o", "name"])).stdout.includes("pod/web-0"),
        60_000,
        "prod-east through the load balancer",
        200,
      );
      const rows: string[][] = [];
      for (let i = 0; i < Number(args.drains); i++) {
        const r = await drainTrial(ha, lb, env, token, ca.certPem);
        rows.push([
          String(i + 1),
          `${ms(r.exitMs)} (exit ${r.code})`,
          r.watch,
          r.exec,
          `${r.failed} of ${r.requests}`,
        ]);
        log(`  drain ${i + 1}: ${ms(r.exitMs)}`);
      }
      console.log(
        `\nDrain: SIGTERM of the gateway holding a kubectl get -w and an exec, through a load balancer (shutdown_grace ${args.grace}, shutdown_delay ${args.delay})`,
      );
      console.log(
        table([["trial", "SIGTERM → exit", "kubectl get -w", "kubectl exec", "failed requests"], ...rows]),
      );
    } finally {
      env.cleanup();
      lb.stop();
    }
  }
  if (SECTIONS.has("changes")) {
    log(`  ${CHANGES} registry changes…`);
    const routed = await changeLatency(ha);
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
  }
  if (SECTIONS.has("throughput")) {
    log("  throughput…");
    const tp = await throughput(ha);
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
  }
} finally {
  await ha.stop();
  rmSync(certDir, { recursive: true, force: true });
}
