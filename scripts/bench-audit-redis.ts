// bench:audit-redis — what the audit stream costs the registry's one Redis primary (docs/scaling.md):
// W writers (gateway processes) append batches of 64 kube.request events, as the audit sink does,
// to a local redis-server for S seconds. Prints events/s, the Redis server's CPU per event (its one
// command thread: the load-independent figure) and its memory per event held in the stream.
//   bun scripts/bench-audit-redis.ts [writers=8] [seconds=8] [max_events=500000]
import { readFileSync } from "node:fs";
import { openRedisBackend } from "../src/registry/index.ts";
import { startRedisStandalone } from "../test/helpers/redis.ts";

const writers = Number(process.argv[2] ?? 8);
const seconds = Number(process.argv[3] ?? 8);
const maxEntries = Number(process.argv[4] ?? 500_000);
const BATCH = 64;

/** utime + stime of a process, in ms. */
const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
};

/** A kube.request event of the size the gateway writes (~580 bytes of JSON). */
const event = (i: number) =>
  JSON.stringify({
    event: "kube.request",
    code: "T3009I",
    time: new Date().toISOString(),
    uid: crypto.randomUUID(),
    user: `alice${i % 50}`,
    roles: ["developers"],
    kubernetes_cluster: "prod-eu-west-1",
    kubernetes_users: [`alice${i % 50}`],
    kubernetes_groups: ["developers", "system:authenticated"],
    server_hostname: "kubeport-a",
    "addr.remote": "10.0.12.34:53122",
    proto: "kube",
    verb: "GET",
    request_path: "/api/v1/namespaces/default/pods",
    resource_api_group: "core/v1",
    resource_namespace: "default",
    resource_kind: "pods",
    response_code: 200,
    bytes_out: 1843,
    elapsed_ms: 1.2,
  });

const redis = await startRedisStandalone();
const backends = Array.from({ length: writers }, () => openRedisBackend({ url: redis.url }));
try {
  await Promise.all(backends.map((b) => b.ping()));
  const pid = redis.pids()[0]!;
  let events = 0;
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    backends.map(async (b, w) => {
      while (performance.now() < end) {
        const rows = Array.from({ length: BATCH }, (_, i) => event(i + w));
        await b.appendMany("audit", rows, {
          encoded: true,
          retention: { maxAgeMs: 30 * 86_400_000, maxEntries },
        });
        events += BATCH;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const redisCpu = (cpuMs(pid) - cpu0) / 1000;
  const port = redis.url.split(":").pop()!;
  const cli = (...args: string[]) => Bun.spawnSync(["redis-cli", "-p", port, ...args]).stdout.toString();
  const used = Number(/used_memory:(\d+)/.exec(cli("info", "memory"))![1]);
  const held = Number(cli("xlen", "{kubeport}:s:audit"));
  console.log(
    `${writers} writers, ${seconds} s, batches of ${BATCH}, event ${event(0).length} bytes, cap ${maxEntries}:\n` +
      `  ${Math.round(events / secs)} events/s appended (the writers, on this machine, are the limit while Redis is below 100 %)\n` +
      `  Redis CPU ${(redisCpu / secs).toFixed(2)} of a core = ${((redisCpu * 1e6) / events).toFixed(1)} µs an event ` +
      `→ ~${Math.round(events / redisCpu / 1000)}k events/s at a full core\n` +
      `  ${held} events held, Redis used_memory ${(used / 1e6).toFixed(1)} MB = ${Math.round(used / held)} bytes an event`,
  );
} finally {
  await Promise.all(backends.map((b) => b.close()));
  await redis.stop();
}
