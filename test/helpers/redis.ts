// Real redis-server processes for tests and benches: standalone, Cluster and Sentinel on free loopback ports.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

const HOST = "127.0.0.1";
const live = new Set<Subprocess>();
let exitHookInstalled = false;

/** Kills every redis process we started when the runner exits, however it exits. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const p of live) p.kill("SIGKILL");
  };
  process.on("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** Throws a clear message when redis-server is missing; installs it with apt-get when root (CI). */
export function ensureRedisInstalled(): void {
  if (Bun.which("redis-server") && Bun.which("redis-cli") && Bun.which("redis-sentinel")) return;
  if (process.getuid?.() === 0) {
    const r = Bun.spawnSync(
      [
        "sh",
        "-c",
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-sentinel",
      ],
      {
        stdout: "inherit",
        stderr: "inherit",
      },
    );
    if (r.exitCode === 0 && Bun.which("redis-server")) return;
  }
  throw new Error(
    "redis-server, redis-cli and redis-sentinel are needed for these tests: install them (Debian: apt-get install redis-server redis-sentinel)",
  );
}

/** A free loopback port: bind port 0, read it, close. `alsoFree` adds a second check (cluster bus = port + 10000). */
export function freePort(alsoFree?: (port: number) => number): number {
  for (let i = 0; i < 50; i++) {
    const s = Bun.listen({ hostname: HOST, port: 0, socket: { data() {} } });
    const port = s.port;
    s.stop(true);
    if (!alsoFree) return port;
    const other = alsoFree(port);
    if (other > 65535) continue;
    try {
      const t = Bun.listen({ hostname: HOST, port: other, socket: { data() {} } });
      t.stop(true);
      return port;
    } catch {
      // taken: try another
    }
  }
  throw new Error("no free loopback port found");
}

/** redis-cli flags per port that speaks TLS (and needs a password), so every helper reaches it. */
const cliFlags = new Map<number, string[]>();

function cli(port: number, ...args: string[]): { ok: boolean; out: string } {
  const r = Bun.spawnSync(
    ["redis-cli", "-h", HOST, "-p", String(port), ...(cliFlags.get(port) ?? []), ...args],
    {
      stdout: "pipe",
      stderr: "pipe",
      timeout: 5000,
    },
  );
  return { ok: r.exitCode === 0, out: r.stdout.toString() + r.stderr.toString() };
}

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** PEM files for TLS: a CA, and a certificate + key it signed (valid for 127.0.0.1, both EKUs). */
export interface RedisTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/**
 * Writes a fresh CA and a cert for localhost (and 127.0.0.1 unless `hostOnly`, as a managed Redis
 * whose certificates name hosts only) into `dir`; the cert is usable as a client cert too.
 */
export async function makeRedisTlsFiles(dir: string, { hostOnly = false } = {}): Promise<RedisTlsFiles> {
  const { createCa, issueServerCert } = await import("../../src/lib/x509.ts");
  const ca = await createCa("kubeport test redis CA");
  const kp = await issueServerCert(ca, {
    commonName: "redis",
    dnsNames: ["localhost"],
    ipAddresses: hostOnly ? [] : [HOST],
  });
  const tag = hostOnly ? "-hostonly" : "";
  const files = {
    ca: join(dir, `ca${tag}.pem`),
    cert: join(dir, `redis${tag}.pem`),
    key: join(dir, `redis${tag}-key.pem`),
  };
  writeFileSync(files.ca, ca.certPem);
  writeFileSync(files.cert, kp.certPem);
  writeFileSync(files.key, kp.keyPem, { mode: 0o600 });
  return files;
}

/**
 * Server flags for TLS only (plain port off): replication and the cluster bus over TLS too.
 * `clientCerts` "yes" makes clients present a certificate signed by the CA.
 */
function tlsArgs(port: number, tls: RedisTlsFiles, clientCerts: "yes" | "no" | "optional"): string[] {
  cliFlags.set(port, ["--tls", "--cacert", tls.ca, "--cert", tls.cert, "--key", tls.key]);
  return [
    "--port",
    "0",
    "--tls-port",
    String(port),
    "--tls-cert-file",
    tls.cert,
    "--tls-key-file",
    tls.key,
    "--tls-ca-cert-file",
    tls.ca,
    "--tls-auth-clients",
    clientCerts,
    "--tls-replication",
    "yes",
  ];
}

export interface RedisNode {
  host: string;
  port: number;
  /** "127.0.0.1:PORT" */
  addr: string;
  pid(): number;
  /** SIGKILLs the process (a crash). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the process again on the same port and directory. */
  restart(): Promise<void>;
  alive(): boolean;
}

interface NodeSpec {
  dir: string;
  args: (port: number) => string[];
  sentinel?: boolean;
  port?: number;
  clusterBus?: boolean;
}

/** Starts one redis-server (or sentinel) and waits for PING; retries on a new port if the port was taken. */
async function startNode(spec: NodeSpec): Promise<RedisNode> {
  installExitHook();
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = spec.port ?? freePort(spec.clusterBus ? (p) => p + 10000 : undefined);
    let proc: Subprocess | undefined;
    const launch = async () => {
      const cmd = spec.sentinel
        ? ["redis-sentinel", ...spec.args(port)]
        : ["redis-server", ...spec.args(port)];
      proc = Bun.spawn(cmd, { cwd: spec.dir, stdout: "ignore", stderr: "ignore" });
      live.add(proc);
      const p = proc;
      p.exited.then(() => live.delete(p));
      await until(
        () => p.exitCode !== null || cli(port, "ping").out.includes("PONG"),
        10_000,
        `redis on port ${port}`,
      );
      if (p.exitCode !== null) throw new Error(`redis on port ${port} exited with ${p.exitCode}`);
    };
    try {
      await launch();
    } catch (err) {
      if (spec.port !== undefined || attempt === 4) throw err;
      continue;
    }
    const node: RedisNode = {
      host: HOST,
      port,
      addr: `${HOST}:${port}`,
      pid: () => proc!.pid,
      alive: () => proc!.exitCode === null && !proc!.killed,
      async kill(signal: NodeJS.Signals = "SIGKILL") {
        proc!.kill(signal);
        await proc!.exited;
      },
      async restart() {
        if (node.alive()) await node.kill();
        await launch();
      },
    };
    return node;
  }
  throw new Error("could not start redis");
}

// No persistence; replicas sync at once (the default waits 5 s to batch diskless syncs); DEBUG
// (SLEEP, to stall a primary) from loopback clients.
const BASE = [
  "--enable-debug-command",
  "local",
  "--bind",
  HOST,
  "--save",
  "",
  "--appendonly",
  "no",
  "--protected-mode",
  "no",
  "--repl-diskless-sync-delay",
  "0",
];

/** Until a write on `master` is acknowledged by `replicas` replicas within 100 ms (WAIT). */
async function untilReplicasAck(master: RedisNode, replicas: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    // One connection for both commands: WAIT counts the acks of this client's own writes.
    const r = Bun.spawnSync(
      ["redis-cli", "-h", HOST, "-p", String(master.port), ...(cliFlags.get(master.port) ?? [])],
      {
        stdin: Buffer.from(`SET {settle} 1\nWAIT ${replicas} 100\n`),
        stdout: "pipe",
        stderr: "pipe",
        timeout: 5000,
      },
    );
    const acked = Number(r.stdout.toString().trim().split("\n").at(-1));
    if (acked >= replicas) return;
    if (Date.now() > deadline) throw new Error(`replicas never acknowledged writes: ${r.stdout}${r.stderr}`);
    await Bun.sleep(100);
  }
}

export interface RedisStandalone {
  url: string;
  node: RedisNode;
  pids(): number[];
  kill(pid: number): Promise<void>;
  stop(): Promise<void>;
}

/** One redis-server with persistence off, in its own temp dir. */
export async function startRedisStandalone({
  tls,
  clientCerts = "no",
}: {
  tls?: RedisTlsFiles;
  clientCerts?: "yes" | "no" | "optional";
} = {}): Promise<RedisStandalone> {
  ensureRedisInstalled();
  const dir = mkdtempSync(join(tmpdir(), "kubeport-redis-"));
  const node = await startNode({
    dir,
    args: (port) => (tls ? [...tlsArgs(port, tls, clientCerts), ...BASE] : ["--port", String(port), ...BASE]),
  });
  return {
    url: `${tls ? "rediss" : "redis"}://${node.addr}`,
    node,
    pids: () => [node.pid()],
    kill: (pid) => (pid === node.pid() ? node.kill() : Promise.resolve()),
    async stop() {
      if (node.alive()) await node.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  /** Seed addresses "host:port" of every node. */
  nodes: string[];
  members: RedisNode[];
  pids(): number[];
  kill(pid: number): Promise<void>;
  stop(): Promise<void>;
}

/** A Redis Cluster of `primaries` masters, each with `replicasPerPrimary` replicas, state ok. */
export async function startRedisCluster({
  primaries = 3,
  replicasPerPrimary = 0,
  tls,
  announceHostname,
}: {
  primaries?: number;
  replicasPerPrimary?: 0 | 1;
  /** Every node TLS only, the cluster bus and replication included. */
  tls?: RedisTlsFiles;
  /** Nodes announce this host name instead of their IP (as ElastiCache/MemoryDB do with TLS). */
  announceHostname?: string;
} = {}): Promise<RedisCluster> {
  ensureRedisInstalled();
  const dir = mkdtempSync(join(tmpdir(), "kubeport-rcluster-"));
  const count = primaries * (1 + replicasPerPrimary);
  const members: RedisNode[] = [];
  for (let i = 0; i < count; i++) {
    members.push(
      await startNode({
        dir,
        clusterBus: true,
        args: (port) => [
          ...(tls ? [...tlsArgs(port, tls, "no"), "--tls-cluster", "yes"] : ["--port", String(port)]),
          ...(announceHostname
            ? [
                "--cluster-announce-hostname",
                announceHostname,
                "--cluster-preferred-endpoint-type",
                "hostname",
              ]
            : []),
          ...BASE,
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          `nodes-${port}.conf`,
          "--cluster-node-timeout",
          "2000",
          "--cluster-port",
          String(port + 10000),
        ],
      }),
    );
  }
  const stop = async () => {
    for (const m of members) if (m.alive()) await m.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const addrs = members.map((m) => m.addr);
    const create = Bun.spawnSync(
      [
        "redis-cli",
        "--cluster",
        "create",
        ...addrs,
        "--cluster-replicas",
        String(replicasPerPrimary),
        "--cluster-yes",
        ...(tls ? ["--tls", "--cacert", tls.ca] : []),
      ],
      {
        stdout: "pipe",
        stderr: "pipe",
        timeout: 30_000,
      },
    );
    if (create.exitCode !== 0)
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    await until(
      () => members.every((m) => cli(m.port, "cluster", "info").out.includes("cluster_state:ok")),
      20_000,
      "cluster_state:ok",
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes: members.map((m) => m.addr),
    members,
    pids: () => members.map((m) => m.pid()),
    kill: async (pid) => {
      await members.find((m) => m.pid() === pid)?.kill();
    },
    stop,
  };
}

export interface RedisSentinel {
  /** Master group name, as in `storage.name`. */
  name: string;
  sentinels: string[];
  master: RedisNode;
  replicas: RedisNode[];
  sentinelNodes: RedisNode[];
  pids(): number[];
  kill(pid: number): Promise<void>;
  stop(): Promise<void>;
}

/** A master with `replicas` replicas watched by `sentinels` sentinels (quorum = majority). */
export async function startRedisSentinel({
  replicas = 1,
  sentinels = 3,
  name = "kubeport",
  tls,
  sentinelPassword,
}: {
  replicas?: number;
  sentinels?: number;
  name?: string;
  /** Master, replicas and sentinels TLS only. */
  tls?: RedisTlsFiles;
  /** The sentinels' own requirepass (and what they use with each other). */
  sentinelPassword?: string;
} = {}): Promise<RedisSentinel> {
  ensureRedisInstalled();
  const dir = mkdtempSync(join(tmpdir(), "kubeport-rsentinel-"));
  const all: RedisNode[] = [];
  const stop = async () => {
    for (const m of all) if (m.alive()) await m.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const listen = (port: number) => (tls ? tlsArgs(port, tls, "no") : ["--port", String(port)]);
    const master = await startNode({ dir, args: (port) => [...listen(port), ...BASE] });
    all.push(master);
    const reps: RedisNode[] = [];
    for (let i = 0; i < replicas; i++) {
      const r = await startNode({
        dir,
        args: (port) => [...listen(port), ...BASE, "--replicaof", HOST, String(master.port)],
      });
      reps.push(r);
      all.push(r);
    }
    await until(
      () => reps.every((r) => cli(r.port, "info", "replication").out.includes("master_link_status:up")),
      15_000,
      "replicas to sync",
    );
    const sents: RedisNode[] = [];
    const quorum = Math.floor(sentinels / 2) + 1;
    for (let i = 0; i < sentinels; i++) {
      sents.push(
        await startNode({
          dir,
          sentinel: true,
          args: (port) => {
            const conf = join(dir, `sentinel-${port}.conf`);
            writeFileSync(
              conf,
              [
                ...(tls
                  ? [
                      "port 0",
                      `tls-port ${port}`,
                      `tls-cert-file ${tls.cert}`,
                      `tls-key-file ${tls.key}`,
                      `tls-ca-cert-file ${tls.ca}`,
                      "tls-auth-clients no",
                      "tls-replication yes",
                    ]
                  : [`port ${port}`]),
                ...(sentinelPassword
                  ? [`requirepass ${sentinelPassword}`, `sentinel sentinel-pass ${sentinelPassword}`]
                  : []),
                `bind ${HOST}`,
                "protected-mode no",
                `dir ${dir}`,
                `sentinel monitor ${name} ${HOST} ${master.port} ${quorum}`,
                `sentinel down-after-milliseconds ${name} 1000`,
                `sentinel failover-timeout ${name} 5000`,
                `sentinel parallel-syncs ${name} 1`,
                "",
              ].join("\n"),
            );
            if (tls) tlsArgs(port, tls, "no");
            if (sentinelPassword)
              cliFlags.set(port, [
                ...(cliFlags.get(port) ?? []),
                "-a",
                sentinelPassword,
                "--no-auth-warning",
              ]);
            return [conf];
          },
        }),
      );
    }
    all.push(...sents);
    await until(
      () =>
        sents.every((s) =>
          cli(s.port, "sentinel", "get-master-addr-by-name", name).out.includes(String(master.port)),
        ),
      10_000,
      "sentinels to see the master",
    );
    // For ~1 s after the Sentinels start, the replica does not answer the master's GETACK (WAIT 1
    // timed out with the write already on it): settle before a test times a durable write.
    if (replicas > 0) await untilReplicasAck(master, replicas);
    return {
      name,
      sentinels: sents.map((s) => s.addr),
      master,
      replicas: reps,
      sentinelNodes: sents,
      pids: () => all.map((n) => n.pid()),
      kill: async (pid) => {
        await all.find((n) => n.pid() === pid)?.kill();
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
