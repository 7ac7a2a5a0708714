// Registry bench: 10,000 kube_clusters on SQLite, Redis standalone and Redis Cluster (it starts its own redis).
// Measures put throughput, list time, watch fan-out (events/s a watcher sees while we put) and peak RSS.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mapLimit } from "../src/lib/pool.ts";
import { kubeCluster } from "../src/registry/conformance.ts";
import { type Backend, openRedisBackend, openSqliteBackend } from "../src/registry/index.ts";
import { startRedisCluster, startRedisStandalone } from "../test/helpers/redis.ts";

const N = Number(process.env.BENCH_N ?? 10_000);
const CONCURRENCY = 32;

interface Row {
  backend: string;
  putOps: number;
  listMs: number;
  watchEvents: number;
  peakRssMb: number;
}

function rssSampler() {
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
  return () => {
    clearInterval(t);
    return Math.max(peak, process.memoryUsage().rss) / 1024 / 1024;
  };
}

async function bench(label: string, open: () => Backend): Promise<Row> {
  Bun.gc(true);
  const stopRss = rssSampler();
  const writer = open();
  const watcherBackend = open();
  const names = Array.from({ length: N }, (_, i) => `bench-${String(i).padStart(5, "0")}`);

  let t0 = performance.now();
  await mapLimit(names, CONCURRENCY, (n) =>
    writer.put(kubeCluster(n, { labels: { env: "bench", round: "1" } })),
  );
  const putOps = N / ((performance.now() - t0) / 1000);

  const lists: number[] = [];
  for (let i = 0; i < 3; i++) {
    t0 = performance.now();
    const all = await writer.list("kube_cluster");
    lists.push(performance.now() - t0);
    if (all.length !== N) throw new Error(`${label}: listed ${all.length}, want ${N}`);
  }

  // A name counts once it is seen at round 2, by a put event or inside a (re-)init snapshot.
  const round2 = new Set<string>();
  let ready = false;
  let inits = 0;
  const w = watcherBackend.watch({ kinds: ["kube_cluster"] }, (e) => {
    if (e.type === "init") {
      inits++;
      ready = true;
      for (const r of e.resources) if (r.metadata.labels?.round === "2") round2.add(r.metadata.name);
    } else if (e.type === "put" && e.resource.metadata.labels?.round === "2")
      round2.add(e.resource.metadata.name);
  });
  while (!ready) await Bun.sleep(5);
  t0 = performance.now();
  await mapLimit(names, CONCURRENCY, (n) =>
    writer.put(kubeCluster(n, { labels: { env: "bench", round: "2" } })),
  );
  const deadline = Date.now() + 60_000;
  while (round2.size < N && Date.now() < deadline) await Bun.sleep(2);
  const watchEvents = round2.size / ((performance.now() - t0) / 1000);
  if (round2.size < N || inits > 1)
    console.error(`${label}: watcher saw ${round2.size}/${N} with ${inits} init(s)`);
  w.close();
  await Promise.all([writer.close(), watcherBackend.close()]);
  return { backend: label, putOps, listMs: Math.min(...lists), watchEvents, peakRssMb: stopRss() };
}

const rows: Row[] = [];
const dir = mkdtempSync(join(tmpdir(), "kubeport-bench-"));
try {
  const path = join(dir, "registry.db");
  rows.push(await bench("sqlite", () => openSqliteBackend({ path })));
  const standalone = await startRedisStandalone();
  try {
    rows.push(
      await bench("redis standalone", () => openRedisBackend({ url: standalone.url, key_prefix: "bench" })),
    );
  } finally {
    await standalone.stop();
  }
  const cluster = await startRedisCluster({ primaries: 3 });
  try {
    rows.push(
      await bench("redis cluster (3)", () =>
        openRedisBackend({ cluster_nodes: cluster.nodes, key_prefix: "bench", replica_acks: 0 }),
      ),
    );
  } finally {
    await cluster.stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const fmt = (n: number, d = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(
  `\nregistry bench: ${fmt(N)} kube_cluster resources, ${CONCURRENCY} writers in flight (bun ${Bun.version})\n`,
);
const header = ["backend", "put ops/s", "list ms", "watch events/s", "peak RSS MB"];
const body = rows.map((r) => [
  r.backend,
  fmt(r.putOps),
  fmt(r.listMs, 1),
  fmt(r.watchEvents),
  fmt(r.peakRssMb),
]);
const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
const line = (cells: string[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const b of body) console.log(line(b));
process.exit(0);
