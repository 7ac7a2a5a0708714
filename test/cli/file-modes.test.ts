// Secrets at rest: every file kubeport writes that holds a secret is 0600 and its directory 0700,
// whatever the umask; found open to other users it is fixed at start with a warning, and when
// kubeport may not change it the start is refused with the command that fixes it.
import { afterAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pino from "pino";
import { runServer } from "../../src/cli/runtime.ts";
import { parseConfig } from "../../src/config/index.ts";
import { openSqliteBackend } from "../../src/registry/index.ts";
import { runCliCaptured, spawnCaptured } from "../helpers/cli.ts";

const ROOT = resolve(import.meta.dir, "../..");
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "kp-modes-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const mode = (p: string) => `0${(statSync(p).mode & 0o777).toString(8)}`;
const SECRET_FILES = [
  "registry.db",
  "registry.db-wal",
  "registry.db-shm",
  "host_uuid",
  "tls/ca-key.pem",
  "tls/server-key.pem",
];

/**
 * Runs `kubeport start` in this process until it is up, writes to the registry over a second
 * connection (so the WAL and its index exist: SQLite removes them at the last close), runs
 * `whileUp`, then stops it; returns its log lines.
 */
async function startOnce(dataDir: string, whileUp: () => void | Promise<void> = () => {}) {
  const lines: { msg: string; path?: string; was?: string; level: number }[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const config = parseConfig(
    `version: v1
kubeport:
  data_dir: ${dataDir}
proxy_service: { enabled: yes, listen_addr: "127.0.0.1:0" }
kubernetes_service: { enabled: yes }
`,
    "t",
    { env: {} },
  );
  const stop = new AbortController();
  let up = false;
  const done = runServer({ config, log, signal: stop.signal, version: "t", onReady: () => (up = true) });
  const failed = done.then(
    () => undefined,
    (err: Error) => err,
  );
  while (!up) {
    const err = await Promise.race([failed, Bun.sleep(20).then(() => "waiting" as const)]);
    if (err !== "waiting") throw err ?? new Error("runServer ended before it was up");
  }
  const backend = openSqliteBackend({ path: join(dataDir, "registry.db") });
  try {
    await backend.put({ kind: "role", version: "v1", metadata: { name: "r" }, spec: { allow: {} } } as never);
    await whileUp();
  } finally {
    await backend.close();
    stop.abort();
    await done;
  }
  return lines;
}

describe("a fresh data_dir under umask 022", () => {
  test("the registry (with -wal and -shm), host_uuid and the TLS keys are 0600, the directories 0700", async () => {
    const dataDir = join(tempDir(), "data");
    const old = process.umask(0o022);
    try {
      await startOnce(dataDir, () => {
        expect(mode(dataDir)).toBe("0700");
        expect(mode(join(dataDir, "tls"))).toBe("0700");
        for (const f of SECRET_FILES) {
          expect([f, existsSync(join(dataDir, f))]).toEqual([f, true]);
          expect([f, mode(join(dataDir, f))]).toEqual([f, "0600"]);
        }
      });
    } finally {
      process.umask(old);
    }
  }, 60_000);

  test("ctl creating the registry makes it 0600 too", async () => {
    const dir = tempDir();
    const cfg = join(dir, "kubeport.yaml");
    writeFileSync(cfg, `version: v1\nkubeport:\n  data_dir: ${join(dir, "data")}\n`);
    const old = process.umask(0o022);
    try {
      const r = await runCliCaptured(["ctl", "-c", cfg, "tokens", "add", "--type=kube"]);
      expect(r.code).toBe(0);
    } finally {
      process.umask(old);
    }
    expect(mode(join(dir, "data", "registry.db"))).toBe("0600");
    expect(mode(join(dir, "data"))).toBe("0700");
  });
});

describe("a data_dir left open to other users", () => {
  test("is fixed at start, each fix in a warning naming the path", async () => {
    const dataDir = join(tempDir(), "data");
    await startOnce(dataDir);
    // What an older kubeport or a careless copy left behind, with another process (ctl, the
    // other service) holding the registry open so its -wal and -shm exist.
    const other = openSqliteBackend({ path: join(dataDir, "registry.db") });
    let lines: Awaited<ReturnType<typeof startOnce>> = [];
    try {
      await other.put({ kind: "role", version: "v1", metadata: { name: "o" }, spec: { allow: {} } } as never);
      chmodSync(dataDir, 0o755);
      chmodSync(join(dataDir, "tls"), 0o755);
      for (const f of SECRET_FILES) chmodSync(join(dataDir, f), 0o644);
      lines = await startOnce(dataDir, () => {
        expect(mode(dataDir)).toBe("0700");
        expect(mode(join(dataDir, "tls"))).toBe("0700");
        for (const f of SECRET_FILES) expect([f, mode(join(dataDir, f))]).toEqual([f, "0600"]);
      });
    } finally {
      await other.close();
    }
    const fixed = lines.filter((l) => l.msg.includes("permissions fixed"));
    expect(fixed.every((l) => l.level === 40 && l.was !== undefined)).toBe(true);
    expect(fixed.map((l) => l.path).sort()).toEqual(
      [dataDir, join(dataDir, "tls"), ...SECRET_FILES.map((f) => join(dataDir, f))].sort(),
    );
  }, 60_000);

  test("another user's open data_dir is refused with the fix, and nothing is written into it", async () => {
    const base = tempDir();
    chmodSync(base, 0o755);
    const dataDir = join(base, "data");
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755); // owned by this test's user (root), not by nobody
    const cfg = join(base, "kubeport.yaml");
    writeFileSync(
      cfg,
      `version: v1\nkubeport:\n  data_dir: ${dataDir}\nproxy_service: { enabled: yes, listen_addr: "127.0.0.1:0" }\n`,
    );
    chmodSync(cfg, 0o644);
    const r = await spawnCaptured(
      [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        process.execPath,
        join(ROOT, "src/main.ts"),
        "start",
        "-c",
        cfg,
      ],
      { env: { PATH: process.env.PATH, HOME: base }, cwd: ROOT, timeoutMs: 60_000 },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `kubeport.data_dir ${dataDir} is mode 0755, open to other users, and holds secrets; kubeport (uid 65534) cannot change it (owner uid 0): run chmod 0700 ${dataDir} as its owner`,
    );
    expect(existsSync(join(dataDir, "host_uuid"))).toBe(false);
    expect(existsSync(join(dataDir, "registry.db"))).toBe(false);
  }, 60_000);
});

describe("files written for people", () => {
  test("configure -o over an existing 0644 file leaves it 0600", async () => {
    const dir = tempDir();
    const out = join(dir, "kubeport.yaml");
    writeFileSync(out, "old\n");
    chmodSync(out, 0o644);
    const r = await runCliCaptured([
      "configure",
      "--storage-url",
      "redis://:secret@10.0.0.5:6379/0",
      "--out",
      out,
    ]);
    expect(r.code).toBe(0);
    expect(readFileSync(out, "utf8")).toContain("secret");
    expect(mode(out)).toBe("0600");
  });
});
