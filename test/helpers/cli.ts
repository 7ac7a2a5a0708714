// The CLI in-process for tests: one run with its output captured, a temp dir holding a config file,
// a SQLite registry on a temp dir, and reading a spawned CLI's stdout up to a marker.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CliIo, runCli } from "../../src/cli/index.ts";
import { type Config, parseConfig } from "../../src/config/index.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { openSqliteBackend, type SqliteBackend } from "../../src/registry/index.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `kubeport ARGS` in this process and returns its exit code and everything it wrote.
 * `env` defaults to empty, not process.env, so the runner's own KUBEPORT_CONFIG or AWS variables
 * never reach the command under test.
 */
export async function runCliCaptured(
  args: readonly string[],
  io: Omit<CliIo, "stdout" | "stderr"> = {},
): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    env: {},
    ...io,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

export interface TempConfig {
  dir: string;
  /** `DIR/kubeport.yaml`. */
  cfg: string;
  /** Deletes the dir and all in it. */
  remove: () => void;
}

/**
 * A config with data_dir `DIR/data` (so the registry is SQLite at `DIR/data/registry.db`), then
 * `lines`, one a line: top-level sections, or keys of `kubeport:` when indented.
 */
export const dataDirConfig = (dir: string, ...lines: string[]): string =>
  ["version: v1", "kubeport:", `  data_dir: ${join(dir, "data")}`, ...lines, ""].join("\n");

/** A fresh temp dir (named from `prefix`) with `kubeport.yaml` written from `yaml(dir)`. */
export function tempConfig(prefix: string, yaml: (dir: string) => string = dataDirConfig): TempConfig {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const cfg = join(dir, "kubeport.yaml");
  writeFileSync(cfg, yaml(dir));
  return { dir, cfg, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Opens the SQLite registry at `path`, lets `seed` write to it, and closes it even if seeding fails. */
export async function seedRegistry(
  path: string,
  seed: (backend: SqliteBackend) => Promise<unknown>,
): Promise<void> {
  const backend = openSqliteBackend({ path, log: silentLogger });
  try {
    await seed(backend);
  } finally {
    await backend.close();
  }
}

export interface TempRegistry {
  dir: string;
  /** `DIR/registry.db`, open. */
  backend: SqliteBackend;
  /**
   * The parsed config of a node on this registry: data_dir `DIR/<dataDir>`, storage `DIR/registry.db`,
   * then `lines` (top-level sections, or keys of `kubeport:` when indented).
   */
  nodeConfig: (node: { dataDir: string; hostname: string }, ...lines: string[]) => Config;
  /** Closes the registry, then deletes the dir. */
  close: () => Promise<void>;
}

/** A fresh temp dir (named from `prefix`) with a SQLite registry open at `DIR/registry.db`. */
export function tempRegistry(prefix: string): TempRegistry {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const path = join(dir, "registry.db");
  const backend = openSqliteBackend({ path, log: silentLogger });
  return {
    dir,
    backend,
    nodeConfig: ({ dataDir, hostname }, ...lines) =>
      parseConfig(
        [
          "version: v1",
          "kubeport:",
          `  data_dir: ${join(dir, dataDir)}`,
          `  storage: { path: ${path} }`,
          ...lines,
          "",
        ].join("\n"),
        "t",
        { env: {}, hostname },
      ),
    close: async () => {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Reads `stream` until what was read contains (or matches) `marker`, the stream ends, or `ms` pass
 * (checked between chunks), then lets go of the stream so the caller can read on. Returns what was read.
 */
export async function readUntil(
  stream: ReadableStream<Uint8Array>,
  marker: string | RegExp,
  ms: number,
): Promise<string> {
  const found = (text: string) => (typeof marker === "string" ? text.includes(marker) : marker.test(text));
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + ms;
  try {
    while (!found(text) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  return text;
}

/**
 * Runs `cmd` to completion with stdout and stderr captured; killed (SIGTERM unless `killSignal`)
 * after `timeoutMs`, so a hung child fails its test instead of stalling the run.
 */
export async function spawnCaptured(
  cmd: string[],
  opts: {
    env?: Record<string, string | undefined>;
    cwd?: string;
    stdin?: string;
    timeoutMs: number;
    killSignal?: NodeJS.Signals;
  },
): Promise<CliResult> {
  const proc = Bun.spawn(cmd, {
    env: opts.env,
    cwd: opts.cwd,
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs,
    killSignal: opts.killSignal ?? "SIGTERM",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** A self-signed certificate (P-256, valid to 2126) no server holds the key of. */
const PLACEHOLDER_CA = `-----BEGIN CERTIFICATE-----
MIIBpTCCAUugAwIBAgIUCtpNIGjfSv8VWugX5GHsE9hgJPgwCgYIKoZIzj0EAwIw
JzElMCMGA1UEAwwca3ViZXBvcnQgdGVzdCBwbGFjZWhvbGRlciBDQTAgFw0yNjEy
MDMxMTM3MzhaGA8yMTI2MTEwOTExMzczOFowJzElMCMGA1UEAwwca3ViZXBvcnQg
dGVzdCBwbGFjZWhvbGRlciBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABIyt
QkBQSJFSiApVbjTJsgxob04NOApsynKY41fagNxT76y6sqsI2CpdOA0OIW8kJpdM
QxVuz6Gc2TdCHh6ofG6jUzBRMB0GA1UdDgQWBBQRKY8soGYf+WZCalrcLj8+TpCN
ATAfBgNVHSMEGDAWgBQRKY8soGYf+WZCalrcLj8+TpCNATAPBgNVHRMBAf8EBTAD
AQH/MAoGCCqGSM49BAMCA0gAMEUCIFJfP12L1snG2t51oZ+qVbk++rsqM3D5fB4e
lHVq0mRJAiEAsCp5O+e8QB/krl4ism7A1am3gRjjIanQc7+5vgljxiE=
-----END CERTIFICATE-----
`;

/** A placeholder gateway CA in `<dir>/data/tls/ca.pem` (a real certificate: kubeconfig checks it, then embeds it). */
export function writePlaceholderCa(dir: string): void {
  mkdirSync(join(dir, "data", "tls"), { recursive: true });
  writeFileSync(join(dir, "data", "tls", "ca.pem"), PLACEHOLDER_CA);
}
