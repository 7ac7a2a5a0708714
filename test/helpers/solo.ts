// One `kubeport start` from the compiled binary on its own data_dir (a SQLite registry unless told
// otherwise): gateway on a free loopback port, discovery off. For the faults of one host (a full
// disk, two processes on one directory, SIGTERM): start, wait for /readyz, read its JSON log, run ctl.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { stringify } from "yaml";
import { kubeportBinary } from "./binary.ts";
import { type CliResult, spawnCaptured } from "./cli.ts";
import { type LogLine, until } from "./ha.ts";
import { freePort } from "./redis.ts";

export interface SoloOptions {
  /** Where the config and logs go. */
  dir: string;
  dataDir: string;
  name?: string;
  /** Merged over the `kubeport:` section (e.g. storage). */
  kubeport?: Record<string, unknown>;
  /** Merged over the `proxy_service:` section. */
  proxy?: Record<string, unknown>;
}

export interface Solo {
  name: string;
  configPath: string;
  port: number;
  url: string;
  proc(): Subprocess | undefined;
  /** Spawns it (a second call spawns another process on the same config). */
  start(): Subprocess;
  waitReady(timeoutMs?: number): Promise<void>;
  /** SIGTERM; its exit code (SIGKILL after `timeoutMs`). */
  terminate(timeoutMs?: number): Promise<number>;
  /** JSON log lines of run `run` (1-based; default the last). */
  logs(run?: number): LogLine[];
  /** Everything run `run` wrote to stderr. */
  stderr(run?: number): string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  caPem(): string;
  ctl(args: string[]): Promise<CliResult>;
}

/** Writes the config; nothing runs until start(). */
export async function solo(o: SoloOptions): Promise<Solo> {
  const binary = await kubeportBinary();
  const name = o.name ?? "solo";
  mkdirSync(o.dir, { recursive: true });
  const port = freePort();
  const configPath = join(o.dir, `${name}.yaml`);
  writeFileSync(
    configPath,
    stringify({
      version: "v1",
      kubeport: {
        data_dir: o.dataDir,
        nodename: `host-${name}`,
        log: { severity: "INFO", format: "json" },
        ...o.kubeport,
      },
      proxy_service: {
        enabled: true,
        listen_addr: `127.0.0.1:${port}`,
        public_addr: `127.0.0.1:${port}`,
        ...o.proxy,
      },
      discovery_service: { enabled: false },
      kubernetes_service: { enabled: true, resources: [{ labels: { "*": "*" } }] },
    }),
  );
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: o.dir, AWS_EC2_METADATA_DISABLED: "true" };
  const procs: Subprocess[] = [];
  const file = (run: number | undefined, ext: string) =>
    join(o.dir, `${name}.run${run ?? procs.length}.${ext}`);
  const url = `https://127.0.0.1:${port}`;
  const caPem = () => readFileSync(join(o.dataDir, "tls", "ca.pem"), "utf8");
  const self: Solo = {
    name,
    configPath,
    port,
    url,
    proc: () => procs.at(-1),
    start() {
      const run = procs.length + 1;
      const p = Bun.spawn([binary, "start", "-c", configPath], {
        cwd: o.dir,
        env,
        stdout: Bun.file(file(run, "out")),
        stderr: Bun.file(file(run, "log")),
      });
      procs.push(p);
      return p;
    },
    async waitReady(timeoutMs = 60_000) {
      const p = procs.at(-1)!;
      await until(
        async () => {
          if (p.exitCode !== null)
            throw new Error(`kubeport ${name} exited (${p.exitCode}): ${self.stderr()}`);
          if (!existsSync(join(o.dataDir, "tls", "ca.pem"))) return false;
          const r = await self.fetch("/readyz").catch(() => undefined);
          return r?.status === 200;
        },
        timeoutMs,
        `kubeport ${name} /readyz`,
        100,
      );
    },
    async terminate(timeoutMs = 30_000) {
      const p = procs.at(-1);
      if (!p) return -1;
      if (p.exitCode === null) p.kill("SIGTERM");
      const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
      const code = await p.exited;
      clearTimeout(timer);
      return code;
    },
    logs(run) {
      const f = file(run, "log");
      if (!existsSync(f)) return [];
      const out: LogLine[] = [];
      for (const l of readFileSync(f, "utf8").split("\n")) {
        if (!l.startsWith("{")) continue;
        try {
          const line = JSON.parse(l) as LogLine;
          if (typeof line.time === "string") line.time = Date.parse(line.time);
          out.push(line);
        } catch {
          // cut by a kill
        }
      }
      return out;
    },
    stderr: (run) => (existsSync(file(run, "log")) ? readFileSync(file(run, "log"), "utf8") : ""),
    fetch: (path, init) =>
      fetch(`${url}${path}`, {
        ...init,
        tls: { ca: caPem() },
        signal: init?.signal ?? AbortSignal.timeout(5000),
      }),
    caPem,
    ctl: (args) =>
      spawnCaptured([binary, "ctl", "-c", configPath, ...args], {
        cwd: o.dir,
        env,
        timeoutMs: 30_000,
        killSignal: "SIGKILL",
      }),
  };
  return self;
}
