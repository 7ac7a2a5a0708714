// Discovery at scale: 10,000 EKS clusters over 17 regions, 20 ms per call, throttling on, SQLite registry.
// Run: bun scripts/bench-discovery.ts [--clusters N] [--rps R] [--burst B] [--latency MS]
// The AWS simulator runs in a child process so the RSS figure is the discovery service's own.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDiscoveryService } from "../src/discovery/index.ts";
import { silentLogger } from "../src/lib/log.ts";
import { openSqliteBackend } from "../src/registry/index.ts";
import { countingBackend, makeConfig, useSimEnv } from "../test/discovery/harness.ts";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const CLUSTERS = arg("clusters", 10_000);
const RPS = arg("rps", 100);
const BURST = arg("burst", 200);
const LATENCY = arg("latency", 20);
const REGIONS = [
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "eu-central-1",
  "eu-north-1",
  "ap-south-1",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-southeast-1",
  "ap-southeast-2",
  "ca-central-1",
  "sa-east-1",
  "me-central-1",
];

if (process.argv.includes("--sim-child")) {
  // Child: start the simulator and print its env on one line, then wait to be killed.
  const { startAwsSim } = await import("../src/sim/aws/index.ts");
  const envs = ["prod", "staging", "dev"];
  const clusters = Array.from({ length: CLUSTERS }, (_, i) => ({
    name: `cluster-${String(i).padStart(5, "0")}`,
    region: REGIONS[i % REGIONS.length]!,
    tags: { env: envs[i % 3]!, team: `team-${i % 40}`, "cost-center": String(1000 + (i % 97)) },
    authenticationMode: "API_AND_CONFIG_MAP" as const,
  }));
  const sim = await startAwsSim({ clusters, latencyMs: LATENCY, rateLimit: { rps: RPS, burst: BURST } });
  console.log(JSON.stringify({ url: sim.url, env: sim.env }));
  await new Promise(() => {});
}

const child = Bun.spawn([process.execPath, import.meta.path, "--sim-child", ...process.argv.slice(2)], {
  stdout: "pipe",
  stderr: "inherit",
});
const reader = child.stdout.getReader();
let buf = "";
while (!buf.includes("\n")) {
  const { value, done } = await reader.read();
  if (done) throw new Error("simulator exited early");
  buf += new TextDecoder().decode(value);
}
const { url, env } = JSON.parse(buf.split("\n")[0]!) as { url: string; env: Record<string, string> };
useSimEnv({ env } as never);

const calls = async () =>
  ((await (await fetch(`${url}/_sim/calls`)).json()) as { counts: Record<string, number> }).counts;
const resetCalls = () => fetch(`${url}/_sim/calls`, { method: "DELETE" });

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const dir = mkdtempSync(join(tmpdir(), "kubeport-bench-disc-"));
const backend = countingBackend(openSqliteBackend({ path: join(dir, "registry.db") }));
const config = makeConfig({ group: "bench", matchers: [{ regions: ["*"], tags: { "*": "*" } }] });
const svc = createDiscoveryService({ config, backend, log: silentLogger, holder: "bench" });
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

try {
  console.log(
    `bench-discovery: ${CLUSTERS} clusters in ${REGIONS.length} regions (matcher regions "*" = 32), ${LATENCY} ms per call, rate limit ${RPS} rps burst ${BURST} per account+region`,
  );
  await resetCalls();
  const first = await svc.pollOnce();
  const firstCalls = await calls();
  const count = (await backend.list("kube_cluster")).length;
  console.log(
    `first poll: ${first.created} created (${count} in registry), failed scopes ${first.failedScopes.length}`,
  );
  console.log(
    `  time to first full reconcile: ${s(first.timings.reconcileMs)} (fetch ${s(first.timings.fetchMs)}), access setup ${s(first.timings.accessMs)} (${first.access.checked} checked, ${first.access.updated} entries updated, ${first.access.created} created), whole poll ${s(first.durationMs)}`,
  );
  console.log(`  AWS calls: ${JSON.stringify(firstCalls)}`);

  await resetCalls();
  backend.writes.length = 0;
  const quiet = await svc.pollOnce();
  const quietCalls = await calls();
  const kubeWrites = backend.writes.filter((w) => w.kind === "kube_cluster").length;
  console.log(
    `no-change poll: ${s(quiet.durationMs)} (fetch ${s(quiet.timings.fetchMs)}), unchanged ${quiet.unchanged}, failed scopes ${quiet.failedScopes.length}`,
  );
  console.log(
    `  kube_cluster writes: ${kubeWrites} (must be 0); other writes: ${backend.writes.length - kubeWrites} (the discovery_status heartbeat)`,
  );
  console.log(`  AWS calls: ${JSON.stringify(quietCalls)}`);
  console.log(`peak RSS (discovery process, simulator excluded): ${mb(peakRss)}`);
  const ok = first.timings.reconcileMs < 30_000 && kubeWrites === 0 && count === CLUSTERS;
  console.log(ok ? "targets met: first reconcile < 30 s, 0 writes on a quiet poll" : "TARGETS MISSED");
  process.exitCode = ok ? 0 : 1;
} finally {
  clearInterval(sampler);
  await svc.stop();
  await backend.close();
  child.kill();
  rmSync(dir, { recursive: true, force: true });
}
