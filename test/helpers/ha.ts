// The HA pair harness: the AWS simulator (own process), Redis (Cluster 3+3 or Sentinel), and N
// `kubeport start` processes from the compiled binary sharing one registry, each with its own
// listen port, data dir and AWS session (so the simulator counts AWS calls per process).

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type { Subprocess } from "bun";
import { Cluster, Redis } from "ioredis";
import { stringify } from "yaml";
import { silentLogger } from "../../src/lib/log.ts";
import { type Backend, openRedisBackend } from "../../src/registry/index.ts";
import {
  DEFAULT_ACCOUNT,
  DEFAULT_PRINCIPAL,
  type SimCall,
  type SimClusterSeed,
} from "../../src/sim/index.ts";
import { kubeportBinary } from "./binary.ts";
import { type CliResult, spawnCaptured } from "./cli.ts";
import {
  freePort,
  type RedisCluster,
  type RedisNode,
  type RedisSentinel,
  startRedisCluster,
  startRedisSentinel,
} from "./redis.ts";
import { type SimProcess, startSimProcess } from "./sim-process.ts";

export const HA_ACCOUNT = DEFAULT_ACCOUNT;
/** Every kubeport process assumes this role (as two hosts with one instance role would). */
export const HA_ROLE_ARN = `arn:aws:iam::${HA_ACCOUNT}:role/kubeport`;
const SESSION_PREFIX = "kubeport-";

export type RedisKind = "cluster" | "sentinel";

export interface HaProcessSpec {
  name: string;
  /** discovery_group; default the harness's `group`. */
  group?: string;
  /** Tag selector of its one matcher; default the harness's `tags`. */
  tags?: Record<string, string | string[]>;
  /** Started (and waited for) by startHa; default true. false: call `start()` yourself. */
  autostart?: boolean;
}

export interface HaOptions {
  clusters: SimClusterSeed[];
  /** Default: "a" and "b" in one group. */
  processes?: HaProcessSpec[];
  redis?: RedisKind;
  group?: string;
  tags?: Record<string, string | string[]>;
  regions?: string[];
  pollInterval?: string;
  lockTtl?: string;
  severity?: "DEBUG" | "INFO" | "WARN" | "ERROR";
  /** Start the kubeport processes and wait for /readyz (default true). */
  start?: boolean;
  /**
   * proxy_service.public_addr of every process (default "kubeport-ha.local:3080"): one name, as
   * behind a load balancer, so tokens (whose issuer it is) work on every gateway.
   */
  publicAddr?: string;
  /** Pods web-0..n-1 in every simulated cluster. */
  podsPerCluster?: number;
  /** Merged over every process's proxy_service (https_keypairs, shutdown_grace, …). */
  proxy?: Record<string, unknown>;
  /** The CA of `proxy.https_keypairs`' certificate (else each process's generated one is read). */
  caPem?: string;
}

export interface LogLine {
  level: number;
  /** Epoch ms (the logger writes ISO strings; logs() converts them). */
  time: number;
  msg: string;
  [k: string]: unknown;
}

export interface KubeportProcess {
  name: string;
  group: string;
  dataDir: string;
  configPath: string;
  port: number;
  /** https://127.0.0.1:PORT */
  url: string;
  /** The simulator principal its AWS calls are recorded under. */
  principalArn: string;
  /** Its instance id (host_uuid), the holder name in the leader lock; known after the first start. */
  id(): string;
  pid(): number | undefined;
  alive(): boolean;
  /** Spawns it (when not running); does not wait for readiness. */
  start(): Promise<void>;
  /** Resolves when GET /readyz answers 200. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** kill -9; resolves once the process is gone. */
  kill9(): Promise<void>;
  /** SIGSTOP / SIGCONT. */
  freeze(): void;
  resume(): void;
  /** SIGTERM; resolves with its exit code once it has exited (SIGKILL after `timeoutMs`). */
  terminate(timeoutMs?: number): Promise<number>;
  restart(): Promise<void>;
  /** Every JSON log line of every run, oldest first. */
  logs(): LogLine[];
  fetch(path: string, init?: RequestInit): Promise<Response>;
  metrics(): Promise<string>;
  caPem(): string;
}

export interface HaRedis {
  kind: RedisKind;
  cluster?: RedisCluster;
  sentinel?: RedisSentinel;
  /** The `kubeport.storage` block every process uses. */
  storage: Record<string, unknown>;
  /** Every redis-server / redis-sentinel node, with pid() and kill(). */
  nodes(): RedisNode[];
  /** The primary that holds the registry's keys now (Cluster: the slot of `{kubeport}`; Sentinel: the master). */
  registryPrimary(): Promise<RedisNode>;
  stop(): Promise<void>;
}

export interface Lock {
  token: number;
  holder: string;
}

export interface Ha {
  sim: SimProcess;
  redis: HaRedis;
  procs: KubeportProcess[];
  proc(name: string): KubeportProcess;
  binary: string;
  dir: string;
  /** `kubeport ctl -c <cfg of via> …args` (via: the first process). */
  ctl(args: string[], via?: KubeportProcess): Promise<CliResult>;
  /** ctl with `--format json`, parsed; throws on a non-zero exit. */
  ctlJson<T = unknown>(args: string[], via?: KubeportProcess): Promise<T>;
  /** An in-process registry client on the same Redis (for watches and quick reads). */
  registry(): Promise<Backend>;
  /** The raw leader lease of `discovery/<group>` in Redis, or undefined when free. */
  lock(group?: string): Promise<Lock | undefined>;
  /** The process holding the discovery lock of `group`, or undefined. */
  leader(group?: string): Promise<KubeportProcess | undefined>;
  waitLeader(group?: string, timeoutMs?: number, not?: KubeportProcess): Promise<KubeportProcess>;
  /** AWS calls of `actions` (e.g. "eks:ListClusters") per process name, from the simulator's call log. */
  awsCalls(actions?: string[]): Promise<Map<string, SimCall[]>>;
  /** Creates role `admin` (every cluster, system:masters) once, and the user holding it. */
  addUser(user: string): Promise<void>;
  /** `kubeport kubeconfig --user … --proxy 127.0.0.1:<its port>` through `proc`'s config; returns the file path. */
  kubeconfig(proc: KubeportProcess, user: string): Promise<string>;
  stop(): Promise<void>;
}

/** Polls `fn` until it returns a value other than undefined/false. */
export async function until<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(everyMs);
  }
}

const baseEnv = (): Record<string, string> => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_REGION: "us-east-1",
});

async function startHaRedis(kind: RedisKind): Promise<HaRedis> {
  if (kind === "cluster") {
    const cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
    return {
      kind,
      cluster,
      storage: { type: "redis", cluster_nodes: cluster.nodes },
      nodes: () => cluster.members,
      async registryPrimary() {
        return until(
          async () => {
            for (const m of cluster.members) {
              if (!m.alive()) continue;
              const out = await redisCli(m.port, "cluster", "nodes");
              const slot = Number((await redisCli(m.port, "cluster", "keyslot", "{kubeport}")).trim());
              if (!Number.isFinite(slot) || !out.includes("master")) continue;
              for (const line of out.split("\n")) {
                const f = line.split(" ");
                if (!f[2]?.includes("master") || f[2].includes("fail")) continue;
                const addr = f[1]?.split("@")[0];
                const owns = f.slice(8).some((r) => {
                  const [lo, hi] = r.split("-").map(Number);
                  return lo !== undefined && slot >= lo && slot <= (hi ?? lo);
                });
                const node = cluster.members.find((n) => n.addr === addr);
                if (owns && node?.alive()) return node;
              }
            }
            return undefined;
          },
          20_000,
          "the primary holding {kubeport}",
          200,
        );
      },
      stop: () => cluster.stop(),
    };
  }
  const sentinel = await startRedisSentinel({ replicas: 1, sentinels: 3 });
  const all = [sentinel.master, ...sentinel.replicas];
  return {
    kind,
    sentinel,
    storage: { type: "redis", sentinels: sentinel.sentinels, name: sentinel.name },
    nodes: () => [...all, ...sentinel.sentinelNodes],
    async registryPrimary() {
      return until(
        async () => {
          for (const s of sentinel.sentinelNodes) {
            if (!s.alive()) continue;
            const out = await redisCli(s.port, "sentinel", "get-master-addr-by-name", sentinel.name);
            const port = Number(out.trim().split("\n")[1]);
            const node = all.find((n) => n.port === port);
            if (node?.alive()) return node;
          }
          return undefined;
        },
        20_000,
        "the sentinel master",
        200,
      );
    },
    stop: () => sentinel.stop(),
  };
}

/** `redis-cli` against one node; its stdout. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const p = Bun.spawn(["redis-cli", "-h", "127.0.0.1", "-p", String(port), ...args], {
    stdout: "pipe",
    stderr: "pipe",
    timeout: 5000,
  });
  const [out] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  return out;
}

/** Temporary credentials for one process: an AssumeRole session named after it. */
async function sessionFor(simUrl: string, name: string): Promise<Record<string, string>> {
  const sts = new STSClient({
    endpoint: simUrl,
    region: "us-east-1",
    credentials: {
      accessKeyId: DEFAULT_PRINCIPAL.accessKeyId,
      secretAccessKey: DEFAULT_PRINCIPAL.secretAccessKey,
    },
  });
  try {
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: HA_ROLE_ARN,
        RoleSessionName: `${SESSION_PREFIX}${name}`,
        DurationSeconds: 43_200,
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
      throw new Error("AssumeRole returned no credentials");
    return {
      AWS_ACCESS_KEY_ID: c.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: c.SecretAccessKey,
      AWS_SESSION_TOKEN: c.SessionToken,
    };
  } finally {
    sts.destroy();
  }
}

interface ProcessDeps {
  binary: string;
  dir: string;
  simUrl: string;
  storage: Record<string, unknown>;
  spec: Required<HaProcessSpec>;
  regions: string[];
  pollInterval: string;
  lockTtl: string;
  severity: string;
  publicAddr: string;
  proxy: Record<string, unknown>;
  caPem?: string;
  live: Set<Subprocess>;
}

async function createProcess(d: ProcessDeps): Promise<KubeportProcess> {
  const { name, group, tags } = d.spec;
  const dataDir = join(d.dir, name);
  mkdirSync(dataDir, { recursive: true });
  const port = freePort();
  const diagPort = freePort();
  const configPath = join(d.dir, `${name}.yaml`);
  writeFileSync(
    configPath,
    stringify({
      version: "v1",
      kubeport: {
        data_dir: dataDir,
        nodename: `host-${name}`,
        storage: d.storage,
        log: { severity: d.severity, format: "json" },
        lock_ttl: d.lockTtl,
        diag_addr: `127.0.0.1:${diagPort}`,
      },
      proxy_service: {
        enabled: true,
        listen_addr: `127.0.0.1:${port}`,
        public_addr: d.publicAddr,
        ...d.proxy,
      },
      discovery_service: {
        enabled: true,
        discovery_group: group,
        poll_interval: d.pollInterval,
        aws: [{ types: ["eks"], regions: d.regions, tags }],
      },
      kubernetes_service: { enabled: true, resources: [{ labels: { "*": "*" } }] },
    }),
  );
  const env = {
    ...baseEnv(),
    HOME: dataDir,
    AWS_ENDPOINT_URL_EKS: d.simUrl,
    AWS_ENDPOINT_URL_STS: d.simUrl,
    ...(await sessionFor(d.simUrl, name)),
  };
  let proc: Subprocess | undefined;
  let runs = 0;
  const url = `https://127.0.0.1:${port}`;
  const caPem = () => d.caPem ?? readFileSync(join(dataDir, "tls", "ca.pem"), "utf8");
  const self: KubeportProcess = {
    name,
    group,
    dataDir,
    configPath,
    port,
    url,
    principalArn: `arn:aws:sts::${HA_ACCOUNT}:assumed-role/kubeport/${SESSION_PREFIX}${name}`,
    id: () => readFileSync(join(dataDir, "host_uuid"), "utf8").trim(),
    pid: () => proc?.pid,
    alive: () => proc !== undefined && proc.exitCode === null && proc.signalCode === null,
    async start() {
      if (self.alive()) return;
      runs++;
      const p = Bun.spawn([d.binary, "start", "-c", configPath], {
        cwd: dataDir,
        env,
        stdout: Bun.file(join(d.dir, `${name}.run${runs}.out`)),
        stderr: Bun.file(join(d.dir, `${name}.run${runs}.log`)),
      });
      proc = p;
      d.live.add(p);
      p.exited.then(() => d.live.delete(p));
    },
    async waitReady(timeoutMs = 60_000) {
      await until(
        async () => {
          if (!self.alive()) throw new Error(`kubeport ${name} exited (${proc?.exitCode}): ${tail(self)}`);
          if (!d.caPem && !existsSync(join(dataDir, "tls", "ca.pem"))) return false;
          const r = await self.fetch("/readyz").catch(() => undefined);
          return r?.status === 200;
        },
        timeoutMs,
        `kubeport ${name} /readyz`,
        100,
      );
    },
    async kill9() {
      if (!proc || !self.alive()) return;
      proc.kill("SIGKILL");
      await proc.exited;
    },
    freeze: () => proc?.kill("SIGSTOP"),
    resume: () => proc?.kill("SIGCONT"),
    async terminate(timeoutMs = 30_000) {
      if (!proc) return -1;
      const p = proc;
      if (self.alive()) p.kill("SIGTERM");
      const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
      const code = await p.exited;
      clearTimeout(timer);
      return code;
    },
    async restart() {
      await self.kill9();
      await self.start();
      await self.waitReady();
    },
    logs() {
      const lines: LogLine[] = [];
      for (let i = 1; i <= runs; i++) {
        const file = join(d.dir, `${name}.run${i}.log`);
        if (!existsSync(file)) continue;
        for (const l of readFileSync(file, "utf8").split("\n")) {
          if (!l.startsWith("{")) continue;
          try {
            const line = JSON.parse(l) as LogLine;
            if (typeof line.time === "string") line.time = Date.parse(line.time);
            lines.push(line);
          } catch {
            // a line cut by kill -9
          }
        }
      }
      return lines;
    },
    fetch: (path, init) =>
      fetch(`${url}${path}`, {
        ...init,
        tls: { ca: caPem() },
        signal: init?.signal ?? AbortSignal.timeout(5000),
      }),
    // Metrics live on kubeport.diag_addr, not the gateway's port.
    metrics: async () =>
      (await fetch(`http://127.0.0.1:${diagPort}/metrics`, { signal: AbortSignal.timeout(5000) })).text(),
    caPem,
  };
  return self;
}

function tail(p: KubeportProcess): string {
  return p
    .logs()
    .slice(-5)
    .map((l) => `${l.msg} ${JSON.stringify(l.err ?? "")}`)
    .join(" | ");
}

/** Starts the simulator, Redis and the kubeport processes; `stop()` tears all of it down. */
export async function startHa(opts: HaOptions): Promise<Ha> {
  const group = opts.group ?? "ha";
  const tags = opts.tags ?? { env: "prod" };
  const specs: Required<HaProcessSpec>[] = (opts.processes ?? [{ name: "a" }, { name: "b" }]).map((p) => ({
    name: p.name,
    group: p.group ?? group,
    tags: p.tags ?? tags,
    autostart: p.autostart ?? true,
  }));
  const dir = mkdtempSync(join(tmpdir(), "kubeport-ha-"));
  const live = new Set<Subprocess>();
  const killAll = () => {
    for (const p of live) {
      p.kill("SIGCONT");
      p.kill("SIGKILL");
    }
  };
  process.on("exit", killAll);
  let sim: SimProcess | undefined;
  let redis: HaRedis | undefined;
  let backend: Backend | undefined;
  let lockClient: Redis | Cluster | undefined;
  const procs: KubeportProcess[] = [];

  const stop = async () => {
    await Promise.all(
      procs.map((p) => {
        if (!p.alive()) return undefined;
        p.resume();
        return p.terminate(10_000);
      }),
    );
    killAll();
    await backend?.close().catch(() => undefined);
    lockClient?.disconnect();
    await sim?.stop();
    await redis?.stop();
    process.off("exit", killAll);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const binary = await kubeportBinary();
    [sim, redis] = await Promise.all([
      startSimProcess({
        clusters: opts.clusters,
        ...(opts.podsPerCluster !== undefined ? { podsPerCluster: opts.podsPerCluster } : {}),
        accounts: [{ id: HA_ACCOUNT, principals: [DEFAULT_PRINCIPAL], roles: [{ arn: HA_ROLE_ARN }] }],
      }),
      startHaRedis(opts.redis ?? "cluster"),
    ]);
    for (const spec of specs) {
      procs.push(
        await createProcess({
          binary,
          dir,
          simUrl: sim.url,
          storage: redis.storage,
          spec,
          regions: opts.regions ?? ["us-east-1", "us-west-2"],
          pollInterval: opts.pollInterval ?? "1s",
          lockTtl: opts.lockTtl ?? "3s",
          severity: opts.severity ?? "INFO",
          publicAddr: opts.publicAddr ?? "kubeport-ha.local:3080",
          proxy: opts.proxy ?? {},
          ...(opts.caPem ? { caPem: opts.caPem } : {}),
          live,
        }),
      );
    }
    if (opts.start !== false) {
      // One at a time: a fresh registry's first writes (signing key, tls) are not raced.
      for (const [i, p] of procs.entries()) {
        if (!specs[i]!.autostart) continue;
        await p.start();
        await p.waitReady();
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const theSim = sim;
  const theRedis = redis;
  const binary = await kubeportBinary();
  const lockKey = (g: string) => `{kubeport}:lock:discovery/${g || "default"}`;

  const ctl = async (args: string[], via: KubeportProcess = procs[0]!): Promise<CliResult> => {
    return spawnCaptured([binary, "ctl", "-c", via.configPath, ...args], {
      cwd: dir,
      env: { ...baseEnv(), HOME: dir },
      timeoutMs: 30_000,
      killSignal: "SIGKILL",
    });
  };

  const ha: Ha = {
    sim: theSim,
    redis: theRedis,
    procs,
    binary,
    dir,
    proc(name) {
      const p = procs.find((x) => x.name === name);
      if (!p) throw new Error(`no kubeport process ${name}`);
      return p;
    },
    ctl,
    async ctlJson<T>(args: string[], via?: KubeportProcess) {
      const r = await ctl([...args, "--format", "json"], via);
      if (r.code !== 0) throw new Error(`ctl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
    async registry() {
      backend ??= openRedisBackend({ ...(theRedis.storage as { type: "redis" }), log: silentLogger });
      return backend;
    },
    async lock(g = group) {
      lockClient ??=
        theRedis.kind === "cluster"
          ? new Cluster(
              theRedis.cluster!.nodes.map((a) => ({ host: "127.0.0.1", port: Number(a.split(":")[1]) })),
              {
                redisOptions: { lazyConnect: false },
              },
            )
          : new Redis({
              sentinels: theRedis.sentinel!.sentinels.map((a) => ({
                host: "127.0.0.1",
                port: Number(a.split(":")[1]),
              })),
              name: theRedis.sentinel!.name,
            });
      // Callers see a failure as the rejected GET; without a listener ioredis prints every
      // reconnect error of a Redis failover to stderr.
      if (lockClient.listenerCount("error") === 0) lockClient.on("error", () => {});
      const v = await lockClient.get(lockKey(g));
      if (!v) return undefined;
      // "<token>|<holder>|<session>"
      const i = v.indexOf("|");
      const j = v.lastIndexOf("|");
      return { token: Number(v.slice(0, i)), holder: v.slice(i + 1, j > i ? j : undefined) };
    },
    async leader(g = group) {
      const l = await ha.lock(g);
      return l
        ? procs.find((p) => existsSync(join(p.dataDir, "host_uuid")) && p.id() === l.holder)
        : undefined;
    },
    async waitLeader(g = group, timeoutMs = 30_000, not?: KubeportProcess) {
      return until(
        async () => {
          const p = await ha.leader(g).catch(() => undefined);
          return p && p !== not ? p : undefined;
        },
        timeoutMs,
        `a leader of discovery/${g}${not ? ` other than ${not.name}` : ""}`,
        25,
      );
    },
    async awsCalls(actions = ["eks:ListClusters", "eks:DescribeCluster"]) {
      const out = new Map<string, SimCall[]>(procs.map((p) => [p.name, []]));
      for (const c of await theSim.calls()) {
        if (!actions.includes(c.action)) continue;
        const p = procs.find((x) => x.principalArn === c.principal);
        if (p) out.get(p.name)!.push(c);
      }
      return out;
    },
    async addUser(user) {
      const b = await ha.registry();
      if (!(await b.get("role", "admin"))) {
        await b.put({
          kind: "role",
          version: "v1",
          metadata: { name: "admin" },
          spec: { allow: { kubernetes_labels: { "*": "*" }, kubernetes_groups: ["system:masters"] } },
        });
      }
      const r = await ctl(["users", "add", user, "--roles", "admin"]);
      if (r.code !== 0 && !r.stderr.includes("already exists"))
        throw new Error(`users add ${user}: ${r.stderr}`);
    },
    async kubeconfig(proc, user) {
      const file = join(dir, `${user}-${proc.name}.kubeconfig`);
      const p = Bun.spawn(
        [
          binary,
          "kubeconfig",
          "-c",
          proc.configPath,
          "--user",
          user,
          "--proxy",
          `127.0.0.1:${proc.port}`,
          "--out",
          file,
        ],
        {
          cwd: dir,
          env: { ...baseEnv(), HOME: dir },
          stdout: "pipe",
          stderr: "pipe",
          timeout: 30_000,
        },
      );
      const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
      if (code !== 0) throw new Error(`kubeconfig --user ${user} via ${proc.name}: ${err}`);
      return file;
    },
    stop,
  };
  return ha;
}
