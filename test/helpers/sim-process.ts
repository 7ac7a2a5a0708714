// The AWS + Kubernetes simulator in its own process (so it outlives kubeport kills and a busy test
// runner), driven over its /_sim/ HTTP control API. Run directly, it is that child process.
import type { Subprocess } from "bun";
import type { SimAccountSeed, SimCall, SimClusterSeed, SimFault } from "../../src/sim/index.ts";

export interface SimProcessOptions {
  clusters: SimClusterSeed[];
  accounts?: SimAccountSeed[];
  podsPerCluster?: number;
}

export interface SimProcess {
  /** http://127.0.0.1:PORT — EKS, STS and /_sim/ control. */
  url: string;
  pid: number;
  addCluster(seed: SimClusterSeed): Promise<void>;
  /** PATCH /_sim/clusters/ACCOUNT/REGION/NAME (`{tags?, removeTags?, status?}`). */
  patchCluster(account: string, region: string, name: string, body: Record<string, unknown>): Promise<void>;
  deleteCluster(account: string, region: string, name: string): Promise<void>;
  calls(): Promise<SimCall[]>;
  resetCalls(): Promise<void>;
  injectFault(fault: SimFault): Promise<string>;
  clearFaults(): Promise<void>;
  stop(): Promise<void>;
}

const live = new Set<Subprocess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

async function control(url: string, method: string, path: string, body?: unknown): Promise<Response> {
  const res = await fetch(`${url}/_sim/${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  if (!res.ok) throw new Error(`sim ${method} /_sim/${path}: ${res.status} ${await res.text()}`);
  return res;
}

/** Starts the simulator as a child `bun` process and waits for its URL. */
export async function startSimProcess(opts: SimProcessOptions): Promise<SimProcess> {
  const proc = Bun.spawn([process.execPath, import.meta.path, JSON.stringify(opts)], {
    stdout: "pipe",
    stderr: "inherit",
    env: { ...process.env, NODE_ENV: "test" },
  });
  live.add(proc);
  const reader = proc.stdout.getReader();
  let buf = "";
  const deadline = Date.now() + 60_000;
  while (!buf.includes("\n")) {
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error("simulator process did not report its URL within 60 s");
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`simulator process exited before it was ready: ${buf}`);
    buf += new TextDecoder().decode(value);
  }
  const { url } = JSON.parse(buf.slice(0, buf.indexOf("\n"))) as { url: string };
  // Keep draining so the child never blocks on a full pipe.
  void (async () => {
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return;
  })();
  const clusterPath = (a: string, r: string, n: string) =>
    `clusters/${encodeURIComponent(a)}/${encodeURIComponent(r)}/${encodeURIComponent(n)}`;
  return {
    url,
    pid: proc.pid,
    addCluster: async (seed) => void (await control(url, "POST", "clusters", seed)),
    patchCluster: async (a, r, n, body) => void (await control(url, "PATCH", clusterPath(a, r, n), body)),
    deleteCluster: async (a, r, n) => void (await control(url, "DELETE", clusterPath(a, r, n))),
    calls: async () => ((await (await control(url, "GET", "calls")).json()) as { calls: SimCall[] }).calls,
    resetCalls: async () => void (await control(url, "DELETE", "calls")),
    injectFault: async (fault) =>
      ((await (await control(url, "POST", "faults", fault)).json()) as { id: string }).id,
    clearFaults: async () => void (await control(url, "DELETE", "faults")),
    async stop() {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
        await proc.exited;
        clearTimeout(timer);
      }
      live.delete(proc);
    },
  };
}

if (import.meta.main) {
  const { startSimulation } = await import("../../src/sim/index.ts");
  const opts = JSON.parse(process.argv[2] ?? "{}") as SimProcessOptions;
  const sim = await startSimulation({
    clusters: opts.clusters,
    ...(opts.podsPerCluster !== undefined ? { podsPerCluster: opts.podsPerCluster } : {}),
    ...(opts.accounts ? { aws: { accounts: opts.accounts } } : {}),
  });
  process.stdout.write(`${JSON.stringify({ url: sim.aws.url })}\n`);
  const stop = async () => {
    await sim.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // The parent died without stopping us: do not linger.
  const parent = process.ppid;
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      void stop();
    }
  }, 2000).unref?.();
}
