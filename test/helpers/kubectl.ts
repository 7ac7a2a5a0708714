// Runs the real /usr/bin/kubectl against a server with a token, in a throwaway HOME/KUBECACHEDIR.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FileSink, Subprocess } from "bun";

export const KUBECTL = process.env.KUBECTL ?? "/usr/bin/kubectl";

export interface KubectlTarget {
  /** The API server URL (for the gateway: `<gateway url>/v1/clusters/<name>`). */
  server: string;
  token: string;
  caPem: string;
}

export interface KubectlEnv {
  dir: string;
  kubeconfig: string;
  env: Record<string, string>;
  cleanup(): void;
}

/** Writes a kubeconfig and an empty cache dir so runs do not share discovery caches. */
export function kubectlEnv(target: KubectlTarget, extraEnv: Record<string, string> = {}): KubectlEnv {
  const dir = mkdtempSync(join(tmpdir(), "kubeport-kubectl-"));
  const kubeconfig = join(dir, "config");
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "c",
          cluster: {
            server: target.server,
            "certificate-authority-data": Buffer.from(target.caPem).toString("base64"),
          },
        },
      ],
      users: [{ name: "u", user: { token: target.token } }],
      contexts: [{ name: "c", context: { cluster: "c", user: "u", namespace: "default" } }],
      "current-context": "c",
    }),
  );
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    KUBECONFIG: kubeconfig,
    KUBECACHEDIR: join(dir, "cache"),
    ...extraEnv,
  };
  return { dir, kubeconfig, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs kubectl to completion (killed after `timeoutMs`). */
export async function kubectl(
  env: KubectlEnv,
  args: string[],
  { timeoutMs = 20_000, stdin }: { timeoutMs?: number; stdin?: string } = {},
): Promise<KubectlResult> {
  const t0 = performance.now();
  const p = Bun.spawn([KUBECTL, ...args], {
    env: env.env,
    stdin: stdin === undefined ? "ignore" : new Blob([stdin]),
    stdout: "pipe",
    stderr: "pipe",
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, stdout, stderr, ms: performance.now() - t0 };
}

/**
 * kubectl's own race, not the server's: client-go's WebSocket executor (kubectl ≤ 1.32, the one on
 * this machine) starts reading the connection before it has made its streams, so a command that is
 * over at once (output, status and close right after the 101) can find them missing — kubectl logs
 * "Unknown stream id N, discarding message" for frames it did receive, then fails with "closed all
 * streams" or exits 0 with output lost (kubernetes/kubernetes#131189, fixed upstream by #131203).
 * Reproduced straight against the simulator too, without the gateway. kubectl prints the line only
 * for a frame that reached it, so a gateway that lost or cut frames cannot produce it.
 */
export const KUBECTL_STREAM_RACE = /websocket\.go:\d+\] Unknown stream id \d+, discarding message/;

/**
 * `kubectl` for a command that may be run again (a cp download, a read-only exec): run again, up to
 * `attempts` times in all, only while kubectl shows its own stream race (KUBECTL_STREAM_RACE); any
 * other result is returned as it is. `races` counts the runs lost to it.
 */
export async function kubectlRerunOnClientRace(
  env: KubectlEnv,
  args: string[],
  opts: { timeoutMs?: number; attempts?: number } = {},
): Promise<KubectlResult & { races: number }> {
  const attempts = opts.attempts ?? 3;
  for (let races = 0; ; races++) {
    const r = await kubectl(env, args, opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs });
    if (races + 1 >= attempts || !KUBECTL_STREAM_RACE.test(r.stderr)) return { ...r, races };
  }
}

export interface KubectlStream {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Resolves with all stdout so far once `pred` holds (rejects after `timeoutMs`). */
  waitFor(pred: (stdout: string) => boolean, timeoutMs?: number): Promise<string>;
  stdout(): string;
  /** stderr so far. */
  stderr(): string;
  /** Resolves with the exit code when kubectl ends by itself (or is stopped). */
  exited: Promise<number>;
  stop(): Promise<void>;
}

/** Starts a long-running kubectl (get -w, logs -f) and collects its stdout as it arrives. */
export function kubectlStream(env: KubectlEnv, args: string[], { timeoutMs = 30_000 } = {}): KubectlStream {
  const proc = Bun.spawn([KUBECTL, ...args], {
    env: env.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stdout) {
      out += dec.decode(chunk, { stream: true });
      for (const w of waiters) w();
    }
  })().catch(() => {});
  const errDone = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) err += dec.decode(chunk, { stream: true });
  })().catch(() => {});
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    // stderr read to its end first, so a caller sees everything kubectl printed before it exited.
    exited: proc.exited.then(async (code) => {
      await errDone;
      return code;
    }),
    waitFor(pred, ms = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pred(out)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(out);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`kubectl ${args.join(" ")}: condition not met in ${ms} ms; stdout so far:\n${out}`),
          );
        }, ms);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

/** A kubectl with its stdin held open (exec -i), collecting stdout and stderr. */
export interface Interactive {
  proc: Subprocess<"pipe", "pipe", "pipe">;
  stdin: FileSink;
  stdout(): string;
  stderr(): string;
  waitFor(pred: (stdout: string) => boolean, what: string, timeoutMs?: number): Promise<void>;
}

export function kubectlInteractive(env: KubectlEnv, args: string[]): Interactive {
  return spawnCollecting([KUBECTL, ...args], env.env);
}

export function spawnCollecting(cmd: string[], env: Record<string, string>): Interactive {
  const proc = Bun.spawn(cmd, {
    env,
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    timeout: 120_000,
    killSignal: "SIGKILL",
  });
  let out = "";
  let err = "";
  const drain = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    const dec = new TextDecoder();
    for await (const chunk of s) add(dec.decode(chunk, { stream: true }));
  };
  void drain(proc.stdout, (t) => {
    out += t;
  }).catch(() => {});
  void drain(proc.stderr, (t) => {
    err += t;
  }).catch(() => {});
  return {
    proc,
    stdin: proc.stdin,
    stdout: () => out,
    stderr: () => err,
    async waitFor(pred, what, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred(out)) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await Bun.sleep(20);
      }
    },
  };
}
