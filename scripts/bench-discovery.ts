// Discovery across an organization: 40 accounts × 17 regions, 10,000 EKS clusters, 20 ms per call,
// throttling on, one region hung in every account and one answering at 6 s per call; SQLite registry.
// Run: bun scripts/bench-discovery.ts [--clusters N] [--accounts A] [--poll S] [--latency MS] [--mem]
// Measures: first full reconcile of the healthy scopes, change → registry for healthy scopes, the
// hung and slow scopes' state, writes on a quiet round, peak RSS, discovery's CPU. The AWS simulator runs in a child
// process so the RSS figure is the discovery service's own. --mem: a memory timeline every 5 s (RSS, JS heap, malloc).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDiscoveryService } from "../src/discovery/index.ts";
import { silentLogger } from "../src/lib/log.ts";
import { type DiscoveryStatus, type KubeCluster, openSqliteBackend } from "../src/registry/index.ts";
import { countingBackend, makeConfig, useSimEnv } from "../test/discovery/harness.ts";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const CLUSTERS = arg("clusters", 10_000);
const ACCOUNTS = arg("accounts", 40);
const POLL_S = arg("poll", 30);
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
const HUNG = "sa-east-1";
const SLOW = "me-central-1";
const ROLE = "OrganizationAccountAccessRole";
const accountId = (i: number) => String(100000000000 + i * 1111);

if (process.argv.includes("--sim-child")) {
  // Child: start the simulator and print its env on one line; then serve control commands on stdin.
  const { startAwsSim, DEFAULT_PRINCIPAL } = await import("../src/sim/aws/index.ts");
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => ({
    id: accountId(i),
    roles: [{ arn: `arn:aws:iam::${accountId(i)}:role/${ROLE}` }],
    ...(i === 0
      ? { principals: [{ ...DEFAULT_PRINCIPAL, arn: `arn:aws:iam::${accountId(0)}:user/sim-admin` }] }
      : {}),
  }));
  const envs = ["prod", "staging", "dev"];
  const clusters = Array.from({ length: CLUSTERS }, (_, i) => ({
    name: `cluster-${String(i).padStart(5, "0")}`,
    region: REGIONS[i % REGIONS.length]!,
    account: accountId(Math.floor(i / REGIONS.length) % ACCOUNTS),
    tags: { env: envs[i % 3]!, team: `team-${i % 40}` },
    authenticationMode: "API_AND_CONFIG_MAP" as const,
  }));
  const sim = await startAwsSim({
    accounts,
    clusters,
    latencyMs: LATENCY,
    rateLimit: { rps: 100, burst: 200 },
  });
  sim.state.injectFault({ region: HUNG, action: "eks:ListClusters", kind: "hang" });
  sim.state.injectFault({ region: SLOW, kind: "latency", ms: 6000 });
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
const control = (method: string, path: string, body?: unknown) =>
  fetch(`${url}/_sim/${path}`, {
    method,
    ...(body ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}),
  });
const calls = async () =>
  ((await (await control("GET", "calls")).json()) as { counts: Record<string, number> }).counts;

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
let peakRss = 0;
// --mem: a timeline of where the memory is (RSS, JavaScriptCore's heap, mimalloc), and the split at the peak.
const MEM = process.argv.includes("--mem");
const jsc = await import("bun:jsc");
type Mi = {
  committed: { current: number };
  malloc_normal: { current: number };
  malloc_huge: { current: number };
};
/** heapStats() walks the heap (~0.3 s at 5 M objects): only in the 5 s timeline, not at every sample. */
const memSplit = (withMalloc = false) => {
  const m = process.memoryUsage();
  const mi = withMalloc ? ((jsc.heapStats() as unknown as { mimalloc: Mi }).mimalloc as Mi) : undefined;
  return {
    rss: m.rss,
    heap: m.heapUsed,
    capacity: m.heapTotal,
    extra: m.external,
    ...(mi
      ? { miUsed: mi.malloc_normal.current + mi.malloc_huge.current, miCommitted: mi.committed.current }
      : {}),
  };
};
let atPeak = MEM ? memSplit() : undefined;
let peakAt = 0;
const t00 = Date.now();
const showSplit = (m: ReturnType<typeof memSplit>) =>
  `RSS ${mb(m.rss)} | JS heap ${mb(m.heap)} (live + garbage) of ${mb(m.capacity)}, external ${mb(m.extra)}${m.miUsed === undefined ? "" : ` | malloc ${mb(m.miUsed)} in use, ${mb(m.miCommitted ?? 0)} committed`}`;
/** The quiet round's own peak: every scope fetched again, nothing changed (the recurring cost of a poll). */
let quietPeak: number | undefined;
const sampler = setInterval(() => {
  const rss = process.memoryUsage.rss();
  if (quietPeak !== undefined) quietPeak = Math.max(quietPeak, rss);
  if (MEM && rss > peakRss) {
    atPeak = memSplit();
    peakAt = Date.now() - t00;
  }
  peakRss = Math.max(peakRss, rss);
}, 250);
const timeline = MEM
  ? setInterval(
      () => console.log(`  [mem ${((Date.now() - t00) / 1000).toFixed(0)} s] ${showSplit(memSplit(true))}`),
      5000,
    )
  : undefined;
const dir = mkdtempSync(join(tmpdir(), "kubeport-bench-disc-"));
const backend = countingBackend(openSqliteBackend({ path: join(dir, "registry.db") }));
const config = makeConfig({
  group: "bench",
  pollInterval: `${POLL_S}s`,
  matchers: [
    {
      regions: REGIONS,
      tags: { "*": "*" },
      setup_access: false,
      organization: { role_name: ROLE, include_accounts: [], exclude_accounts: [] },
    },
  ],
});
config.discovery_service.scope_timeout = 45_000;
const svc = createDiscoveryService({ config, backend, log: silentLogger, holder: "bench" });
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const regionOf = Array.from({ length: CLUSTERS }, (_, i) => REGIONS[i % REGIONS.length]!);
const healthy = regionOf.filter((r) => r !== HUNG && r !== SLOW).length;
const hungCount = regionOf.filter((r) => r === HUNG).length;
// The registry as a watch sees it (listing 10,000 resources every 100 ms would cost more than
// discovery); only each cluster's region and env label are kept, so the RSS stays discovery's.
const seen = new Map<string, { region?: string; env?: string }>();
const slim = (r: KubeCluster) => ({ region: r.spec.aws?.region, env: r.metadata.labels?.env });
const watcher = backend.watch({ kinds: ["kube_cluster"] }, (e) => {
  if (e.type === "init") {
    seen.clear();
    for (const r of e.resources) seen.set(r.metadata.name, slim(r as KubeCluster));
  } else if (e.type === "put") seen.set(e.resource.metadata.name, slim(e.resource as KubeCluster));
  else seen.delete(e.name);
});
const inRegistry = async () => [...seen.values()];
/** The seeded cluster `i` (see the simulator child): its EKS name (= its kube_cluster's), account and region. */
const seeded = (i: number) => ({
  name: `cluster-${String(i).padStart(5, "0")}`,
  account: accountId(Math.floor(i / REGIONS.length) % ACCOUNTS),
  region: REGIONS[i % REGIONS.length]!,
});
const waitFor = async (cond: () => Promise<boolean>, ms: number) => {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) return false;
    await Bun.sleep(100);
  }
  return true;
};

try {
  console.log(
    `bench-discovery: ${CLUSTERS} clusters, ${ACCOUNTS} accounts (one organization, role ${ROLE}) × ${REGIONS.length} regions = ${ACCOUNTS * REGIONS.length} scopes; ${LATENCY} ms a call, 100 rps burst 200 per account+region; ${HUNG} hangs (ListClusters never answers), ${SLOW} answers in 6 s; poll_interval ${POLL_S}s, scope_timeout 45s`,
  );
  const t0 = Date.now();
  await svc.start();
  const healthyOf = (all: { region?: string }[]) =>
    all.filter((c) => c.region !== HUNG && c.region !== SLOW).length;
  const firstOk = await waitFor(async () => healthyOf(await inRegistry()) === healthy, 120_000);
  const firstMs = Date.now() - t0;
  const rssAt = (what: string) =>
    console.log(`  (RSS ${what}: ${mb(process.memoryUsage.rss())}, peak so far ${mb(peakRss)})`);
  console.log(
    `first full reconcile of the healthy scopes: ${s(firstMs)} (${healthy} clusters in ${(ACCOUNTS * (REGIONS.length - 2)).toLocaleString()} scopes)${firstOk ? "" : " — NOT REACHED"}`,
  );
  rssAt("after the first reconcile");
  const slowOk = await waitFor(async () => (await inRegistry()).length === CLUSTERS - hungCount, 120_000);
  console.log(
    `  the ${SLOW} scopes (6 s a call) in the registry after ${s(Date.now() - t0)}${slowOk ? "" : " — NOT REACHED"}`,
  );
  await waitFor(async () => {
    const st = (await backend.get("discovery_status", "bench")) as DiscoveryStatus | undefined;
    return (
      (st?.spec.scopes ?? []).filter((r) => r.region === HUNG && r.state === "failed").length === ACCOUNTS
    );
  }, 120_000);
  const st = (await backend.get("discovery_status", "bench")) as DiscoveryStatus;
  const hung = st.spec.scopes.filter((r) => r.region === HUNG);
  console.log(
    `  ${HUNG}: ${hung.filter((r) => r.state === "failed").length}/${hung.length} scopes failed: "${hung[0]?.error}"`,
  );
  console.log(`  AWS calls so far: ${JSON.stringify(await calls())}`);

  // Changes in healthy scopes: a create, a retag, a delete.
  const acc = accountId(3);
  const created = "bench-new";
  await control("POST", "clusters", {
    name: created,
    region: "eu-west-1",
    account: acc,
    tags: { env: "prod" },
  });
  // Picked from the seed, not by listing the registry here: a list of 10,000 kube_clusters in this
  // process (+~45 MB) would count in the RSS measured for discovery.
  const retag = seeded(REGIONS.indexOf("us-west-2"));
  const gone = seeded(REGIONS.indexOf("ap-south-1"));
  await control("PATCH", `clusters/${retag.account}/${retag.region}/${retag.name}`, {
    tags: { env: "changed" },
  });
  await control("DELETE", `clusters/${gone.account}/${gone.region}/${gone.name}`);
  const tc = Date.now();
  const when: Record<string, number> = {};
  await waitFor(
    async () => {
      if (!when.create && seen.has(created)) when.create = Date.now() - tc;
      if (!when.retag && seen.get(retag.name)?.env === "changed") when.retag = Date.now() - tc;
      if (!when.delete && !seen.has(gone.name)) when.delete = Date.now() - tc;
      return Object.keys(when).length === 3;
    },
    (POLL_S + 60) * 1000,
  );
  const worst = Math.max(...Object.values(when), Object.keys(when).length < 3 ? Number.POSITIVE_INFINITY : 0);
  console.log(
    `change → registry (healthy scopes): create ${s(when.create ?? Number.NaN)}, retag ${s(when.retag ?? Number.NaN)}, delete ${s(when.delete ?? Number.NaN)} (target < poll_interval + 5 s = ${POLL_S + 5} s)`,
  );
  backend.writes.length = 0;
  quietPeak = 0;
  await Bun.sleep(POLL_S * 1000 + 2000);
  const kubeWrites = backend.writes.filter((w) => w.kind === "kube_cluster").length;
  console.log(
    `a quiet poll round (${POLL_S + 2} s): ${kubeWrites} kube_cluster writes (must be 0), ${backend.writes.length - kubeWrites} status writes`,
  );
  console.log(
    `peak RSS (discovery process, simulator excluded): ${mb(peakRss)}; in the quiet round alone: ${mb(quietPeak ?? 0)}`,
  );
  const cpu = process.cpuUsage();
  console.log(
    `CPU of the discovery process (simulator excluded) over the run: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (${((Date.now() - t00) / 1000).toFixed(0)} s wall)`,
  );
  if (atPeak) console.log(`  at the peak (${(peakAt / 1000).toFixed(0)} s): ${showSplit(atPeak)}`);
  const m = process.memoryUsage();
  Bun.gc(true);
  console.log(
    `  now: RSS ${mb(m.rss)}, JS heap ${mb(m.heapUsed)} used of ${mb(m.heapTotal)}, external ${mb(m.external)}; after a full GC: RSS ${mb(process.memoryUsage.rss())}, heap ${mb(process.memoryUsage().heapUsed)}`,
  );
  const ok =
    firstOk &&
    firstMs < 30_000 &&
    worst < (POLL_S + 5) * 1000 &&
    peakRss < 300 * 1024 * 1024 &&
    kubeWrites === 0;
  console.log(ok ? "targets met" : "TARGETS MISSED");
  process.exitCode = ok ? 0 : 1;
} finally {
  clearInterval(sampler);
  clearInterval(timeline);
  watcher.close();
  await svc.stop();
  await backend.close();
  child.kill();
  rmSync(dir, { recursive: true, force: true });
}
