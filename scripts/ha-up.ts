// ha:up — one-command local HA pair: Redis (Cluster 3+3, or primary/replica + 3 Sentinels), the AWS
// simulator with a few clusters, two `kubeport start` processes from the compiled binary, a user
// and a kubeconfig per gateway. Prints every address and how to try failover; Ctrl-C tears down.
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { parseDuration } from "../src/lib/duration.ts";
import type { SimClusterSeed } from "../src/sim/index.ts";
import { type Ha, type KubeportProcess, startHa, until } from "../test/helpers/ha.ts";

const USAGE = `Usage: npm run ha:up -- [--sentinel] [--lock-ttl 5s] [--poll-interval 10s] [--help]

Starts a local kubeport HA pair and keeps it running until Ctrl-C:
  - Redis Cluster of 3 primaries + 3 replicas (default), or --sentinel: a primary, a replica
    and 3 Sentinels; real redis-server/redis-sentinel processes on loopback ports
  - the AWS simulator (EKS + STS + a Kubernetes API server per cluster) with 4 clusters,
    3 of them tagged env=prod|staging (discovered), 1 env=dev (not)
  - two kubeport processes (a, b) from dist/kubeport (built first when missing or stale),
    same config and discovery_group, their own ports and data dirs
  - user "alice" (role admin) and one kubeconfig per gateway

Type at the ha> prompt (or, without a terminal, send lines to stdin): status | start NAME | help.
Ctrl-C (or SIGINT/SIGTERM) stops everything it started and removes the temp dir.

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

const lockTtlMs = parseDuration(values["lock-ttl"]);
if (!lockTtlMs) {
  console.error(`ha:up: --lock-ttl ${values["lock-ttl"]} is not a duration (e.g. 5s)`);
  process.exit(2);
}
// Long enough that the lock has expired (and the other process took it) before the resume.
const freezeSeconds = Math.ceil(lockTtlMs / 1000) + 2;

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
/** Parks the setup flow while shutdown() tears down and exits. */
const shutdownDone = () => new Promise<never>(() => {});
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
  if (stopping) await shutdownDone();
  console.error(`ha:up: ${err instanceof Error ? err.message : String(err)}`);
  await ha.stop();
  process.exit(1);
}
const kubeconfigs = new Map<string, string>();
for (const p of ha.procs) kubeconfigs.set(p.name, await ha.kubeconfig(p, "alice"));
// Ctrl-C during the setup above: print nothing that points into the removed temp dir.
if (stopping) await shutdownDone();

const idOf = (p: KubeportProcess) => {
  try {
    return p.id();
  } catch {
    return undefined; // never started: no host_uuid yet
  }
};

// A killed holder keeps the lock until it expires, and an unreadable lock is not a free one:
// saying "none" in either case would hide what the failover is waiting for.
const leaderLine = async () => {
  let lock: Awaited<ReturnType<Ha["lock"]>>;
  try {
    lock = await ha.lock();
  } catch {
    return "unknown (the lock cannot be read: Redis unreachable or failing over)";
  }
  if (!lock) return "none (lock free)";
  const l = ha.procs.find((p) => idOf(p) === lock.holder);
  if (!l) return `${lock.holder} (not started by ha:up, fencing token ${lock.token})`;
  return l.alive()
    ? `${l.name} (pid ${l.pid()}, fencing token ${lock.token})`
    : `${l.name}, which is not running: its lock (fencing token ${lock.token}) stays until it expires (lock_ttl ${values["lock-ttl"]})`;
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
    `  kill -STOP <leader pid>; sleep ${freezeSeconds}; kill -CONT <leader pid>   frozen past lock_ttl: the other takes over; the resumed one's writes are refused (stale fencing token) and it steps down`,
    r.cluster
      ? "  kill -9 <pid of the node holding {kubeport}>   Redis Cluster promotes its replica"
      : "  kill -9 <primary pid>         the Sentinels promote the replica",
    process.stdin.isTTY
      ? "Then type `start NAME` at the ha> prompt to restart a stopped kubeport process."
      : "Then send `start NAME` to ha:up's stdin to restart a stopped kubeport process (stdin is not a terminal: no prompt; e.g. `mkfifo f; npm run ha:up < f & exec 3>f; echo 'start a' >&3`).",
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

// A prompt on a terminal; otherwise commands are still read from stdin (a pipe or fifo), and its
// end (e.g. `&` gives /dev/null) leaves the pair running until a signal.
const interactive = process.stdin.isTTY === true;
const rl = createInterface({ input: process.stdin, prompt: "ha> ", terminal: interactive });
const prompt = () => {
  if (interactive) rl.prompt();
};
prompt();
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
  prompt();
});
if (interactive) {
  // readline takes Ctrl-C from the terminal itself.
  rl.on("SIGINT", () => void shutdown());
  rl.on("close", () => void shutdown());
}
