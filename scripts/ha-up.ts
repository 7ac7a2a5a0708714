// ha:up — one-command local HA pair: Redis (Cluster 3+3, or primary/replica + 3 Sentinels), the AWS
// simulator with a few clusters, two `kubeport start` processes from the compiled binary, a user
// and a kubeconfig per gateway. Prints every address and how to try failover; Ctrl-C tears down.
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import type { SimClusterSeed } from "../src/sim/index.ts";
import { type Ha, type KubeportProcess, startHa, until } from "../test/helpers/ha.ts";

const USAGE = `Usage: bun run ha:up [--sentinel] [--lock-ttl 5s] [--poll-interval 10s] [--help]

Starts a local kubeport HA pair and keeps it running until Ctrl-C:
  - Redis Cluster of 3 primaries + 3 replicas (default), or --sentinel: a primary, a replica
    and 3 Sentinels; real redis-server/redis-sentinel processes on loopback ports
  - the AWS simulator (EKS + STS + a Kubernetes API server per cluster) with 4 clusters,
    3 of them tagged env=prod|staging (discovered), 1 env=dev (not)
  - two kubeport processes (a, b) from dist/kubeport (built first when missing or stale),
    same config and discovery_group, their own ports and data dirs
  - user "alice" (role admin) and one kubeconfig per gateway

Type at the prompt: status | start NAME | help. Ctrl-C stops everything and removes the temp dir.

Options:
  --sentinel             use Redis Sentinel instead of Redis Cluster
  --lock-ttl DUR         kubeport.lock_ttl (default 5s)
  --poll-interval DUR    discovery_service.poll_interval (default 10s)
  -h, --help             this text`;

const { values } = parseArgs({
  options: {
    sentinel: { type: "boolean" },
    "lock-ttl": { type: "string", default: "5s" },
    "poll-interval": { type: "string", default: "10s" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const CLUSTERS: SimClusterSeed[] = [
  { name: "prod-web", region: "us-east-1", tags: { env: "prod", team: "web" } },
  { name: "prod-data", region: "us-west-2", tags: { env: "prod", team: "data" } },
  { name: "staging", region: "us-east-1", tags: { env: "staging" } },
  { name: "dev-sandbox", region: "us-east-1", tags: { env: "dev" } },
];

console.log(
  `Starting Redis ${values.sentinel ? "Sentinel" : "Cluster"}, the AWS simulator and two kubeport processes…`,
);
const ha: Ha = await startHa({
  clusters: CLUSTERS,
  redis: values.sentinel ? "sentinel" : "cluster",
  tags: { env: ["prod", "staging"] },
  lockTtl: values["lock-ttl"],
  pollInterval: values["poll-interval"],
});

// The redis helper's own SIGINT hook exits at once; here the pair is stopped in order instead.
process.removeAllListeners("SIGINT");
process.removeAllListeners("SIGTERM");
let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log("\nStopping kubeport (SIGTERM), the simulator and Redis…");
  await ha.stop();
  console.log("Stopped; temp dir removed.");
  process.exit(0);
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);

try {
  await until(
    async () => (await (await ha.registry()).list("kube_cluster")).length >= 3,
    60_000,
    "discovery to register the clusters",
    200,
  );
  await ha.addUser("alice");
} catch (err) {
  console.error(`ha:up: ${err instanceof Error ? err.message : String(err)}`);
  await ha.stop();
  process.exit(1);
}
const kubeconfigs = new Map<string, string>();
for (const p of ha.procs) kubeconfigs.set(p.name, await ha.kubeconfig(p, "alice"));

const leaderLine = async () => {
  const lock = await ha.lock().catch(() => undefined);
  const l = lock && ha.procs.find((p) => p.alive() && p.id() === lock.holder);
  return l ? `${l.name} (pid ${l.pid()}, fencing token ${lock.token})` : "none (lock free or expired)";
};

/** "primary" or "replica" as the node itself says (ROLE). */
function roleOf(port: number): string {
  const r = Bun.spawnSync(["redis-cli", "-h", "127.0.0.1", "-p", String(port), "role"], { timeout: 2000 });
  const first = r.stdout.toString().split("\n")[0]?.trim();
  return first === "master" ? "primary" : first === "slave" ? "replica" : "down";
}

async function printStatus(): Promise<void> {
  const r = ha.redis;
  const lines: string[] = [];
  lines.push("", `Redis ${r.kind}:`);
  if (r.cluster) {
    const primary = await r.registryPrimary();
    for (const n of r.cluster.members)
      lines.push(
        `  ${n.addr}  pid ${n.alive() ? n.pid() : "-"}  ${n.alive() ? roleOf(n.port) : "down"}${n === primary ? "  ← holds the registry's slot ({kubeport})" : ""}`,
      );
  } else if (r.sentinel) {
    for (const n of [r.sentinel.master, ...r.sentinel.replicas])
      lines.push(`  ${n.addr}  pid ${n.alive() ? n.pid() : "-"}  ${n.alive() ? roleOf(n.port) : "down"}`);
    for (const n of r.sentinel.sentinelNodes)
      lines.push(`  ${n.addr}  pid ${n.alive() ? n.pid() : "-"}  sentinel`);
  }
  lines.push("", `AWS simulator: ${ha.sim.url}  (control: ${ha.sim.url}/_sim/clusters)`, "", "Gateways:");
  for (const p of ha.procs) {
    lines.push(
      `  ${p.name}: ${p.url}  pid ${p.alive() ? p.pid() : `- (stopped: type \`start ${p.name}\`)`}`,
      `     config ${p.configPath}`,
      `     kubeconfig ${kubeconfigs.get(p.name)}`,
      `     log ${ha.dir}/${p.name}.run*.log`,
    );
  }
  const a = ha.procs[0] as KubeportProcess;
  lines.push(
    "",
    `Discovery leader: ${await leaderLine()}`,
    "",
    "Try:",
    `  kubectl --kubeconfig ${kubeconfigs.get("a")} --context prod-web get pods`,
    `  kubectl --kubeconfig ${kubeconfigs.get("b")} --context staging get pods -w`,
    `  ${ha.binary} ctl -c ${a.configPath} get kube_cluster`,
    `  ${ha.binary} ctl -c ${a.configPath} discovery status`,
    `  ${ha.binary} ctl -c ${a.configPath} inventory status --connected`,
    `  curl -s -X POST ${ha.sim.url}/_sim/clusters -d '{"name":"prod-new","region":"us-east-1","tags":{"env":"prod"}}'`,
    "",
    "Failover by hand (PIDs above; the leader line updates as it moves):",
    "  kill -9 <leader pid>          crash: the other takes over after the lock TTL",
    "  kill <leader pid>             graceful: the lock is handed over at once",
    "  kill -STOP <leader pid>; sleep 6; kill -CONT <leader pid>   frozen leader: steps down on resume",
    r.cluster
      ? "  kill -9 <pid of the node holding {kubeport}>   Redis Cluster promotes its replica"
      : "  kill -9 <primary pid>         the Sentinels promote the replica",
    "Then `start NAME` here restarts a stopped kubeport process.",
    "",
  );
  console.log(lines.join("\n"));
}

await printStatus();

// Report leader changes and exits as they happen.
let lastLeader = await leaderLine();
const alive = new Map(ha.procs.map((p) => [p.name, p.alive()]));
setInterval(async () => {
  if (stopping) return;
  const now = await leaderLine();
  if (now !== lastLeader) console.log(`[${new Date().toISOString()}] discovery leader: ${now}`);
  lastLeader = now;
  for (const p of ha.procs) {
    if (alive.get(p.name) && !p.alive())
      console.log(`[${new Date().toISOString()}] kubeport ${p.name} exited`);
    alive.set(p.name, p.alive());
  }
}, 500);

// A prompt only on a terminal: without one (CI, `&`), run until a signal.
if (process.stdin.isTTY) {
  const rl = createInterface({ input: process.stdin, prompt: "ha> " });
  rl.prompt();
  rl.on("line", async (line) => {
    const [cmd, arg] = line.trim().split(/\s+/);
    try {
      if (cmd === "status") await printStatus();
      else if (cmd === "start" && arg) {
        const p = ha.proc(arg);
        await p.start();
        await p.waitReady();
        console.log(`kubeport ${arg} running, pid ${p.pid()}`);
      } else if (cmd === "help") console.log(USAGE);
      else if (cmd) console.log("commands: status | start NAME | help (Ctrl-C stops everything)");
    } catch (err) {
      console.log(err instanceof Error ? err.message : String(err));
    }
    rl.prompt();
  });
  // readline takes Ctrl-C from the terminal itself.
  rl.on("SIGINT", () => void shutdown());
  rl.on("close", () => void shutdown());
}
