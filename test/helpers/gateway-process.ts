// `kubeport start` as a child process serving one cluster (an upstream the test runs) over a fresh
// SQLite registry with user "alice" and a role that reaches every cluster: for tests that read the
// gateway's own memory or log lines, and scripts/probe-limits.ts.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { issueUserToken } from "../../src/gateway/index.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { openSqliteBackend } from "../../src/registry/index.ts";

const ROOT = resolve(import.meta.dir, "../..");

export interface GatewayProcess {
  url: string;
  caPem: string;
  pid: number;
  dir: string;
  /** A kubeport token for alice (role `all`: every cluster, group `developers`). */
  token: string;
  /** The kid of the registry's signing key (for crafted tokens). */
  kid: string;
  /** The process's log lines (JSON), parsed. */
  logs(): { msg: string; level: number; [k: string]: unknown }[];
  /** SIGTERM (SIGKILL after 10 s) and wait; the logs stay readable. */
  stop(): Promise<void>;
  /** Stops it and deletes its directory. */
  remove(): Promise<void>;
}

export interface GatewayProcessOptions {
  /** Upstream cluster endpoint and CA (the cluster is named `up`). */
  upstream: { url: string; caPem: string };
  /** More keys under proxy_service, each line indented two spaces. */
  proxyYaml?: string;
  /** More keys under kubeport:, each line indented two spaces. */
  kubeportYaml?: string;
  /** A kubeport checkout to run instead of this one (scripts measuring an older commit). */
  root?: string;
  severity?: string;
}

/** Starts the gateway and waits until it listens (60 s at most). */
export async function startGatewayProcess(opts: GatewayProcessOptions): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), "kubeport-gwp-"));
  const dbPath = join(dir, "registry.db");
  const backend = openSqliteBackend({ path: dbPath, log: silentLogger });
  const issuer = "https://localhost:3080";
  let token: string;
  try {
    await backend.put({
      kind: "kube_cluster",
      version: "v1",
      metadata: { name: "up", labels: { env: "dev" } },
      spec: {
        endpoint: opts.upstream.url,
        ca_data: Buffer.from(opts.upstream.caPem).toString("base64"),
        auth: "eks",
        aws: { region: "us-east-1", account_id: "111111111111", name: "up" },
      },
    });
    await backend.put({
      kind: "role",
      version: "v1",
      metadata: { name: "all" },
      spec: { allow: { kubernetes_labels: { "*": "*" }, kubernetes_groups: ["developers"] } },
    });
    await backend.put({
      kind: "user",
      version: "v1",
      metadata: { name: "alice" },
      spec: { roles: ["all"], created: new Date().toISOString() },
    } as never);
    token = await issueUserToken(backend, { user: "alice", issuer });
  } finally {
    await backend.close();
  }
  const kid = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid as string;
  mkdirSync(join(dir, "data"), { recursive: true, mode: 0o700 });
  const cfg = join(dir, "kubeport.yaml");
  writeFileSync(
    cfg,
    `version: v1
kubeport:
  data_dir: ${join(dir, "data")}
  storage: { path: ${dbPath} }
  log: { severity: ${opts.severity ?? "INFO"}, format: json }
${opts.kubeportYaml ?? ""}proxy_service:
  enabled: yes
  listen_addr: 127.0.0.1:0
  public_addr: localhost:3080
${opts.proxyYaml ?? ""}kubernetes_service:
  enabled: yes
  resources: [{ labels: { "*": "*" } }]
`,
  );
  const logPath = join(dir, "kubeport.log");
  const root = opts.root ?? ROOT;
  const proc: Subprocess = Bun.spawn([process.execPath, join(root, "src/main.ts"), "start", "-c", cfg], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      // Presigning an EKS token needs credentials, not a reachable STS.
      AWS_ACCESS_KEY_ID: "AKIDKUBEPORTTEST",
      AWS_SECRET_ACCESS_KEY: "test-secret",
      AWS_REGION: "us-east-1",
    },
    stdout: "ignore",
    stderr: Bun.file(logPath),
  });
  const logs = () => {
    let text = "";
    try {
      text = readFileSync(logPath, "utf8");
    } catch {
      return [];
    }
    return text
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch {
          return [];
        }
      });
  };
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (!url && Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    url = logs().find((l) => l.msg === "gateway listening")?.url as string | undefined;
    if (!url) await Bun.sleep(50);
  }
  if (!url) {
    proc.kill("SIGKILL");
    const out = readFileSync(logPath, "utf8");
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`kubeport did not start:\n${out}`);
  }
  const self: GatewayProcess = {
    url,
    caPem: readFileSync(join(dir, "data", "tls", "ca.pem"), "utf8"),
    pid: proc.pid,
    dir,
    token,
    kid,
    logs,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
      if (!exited) proc.kill("SIGKILL");
      await proc.exited;
    },
    async remove() {
      await self.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return self;
}
