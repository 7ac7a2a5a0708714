// Issue 17 §3: the SQLite registry on a small disk (a tmpfs this test mounts) that fills while
// `ctl` writes. Before the fix /readyz stayed 200 while every write
// failed, and after the space came back the WAL stayed several MB beside a small database (a
// restart could then fail with "database or disk is full"). Now: /readyz says the registry refuses
// writes; once space returns, writes succeed, the WAL is checkpointed and truncated, /readyz is 200
// and a restart works.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "../helpers/ha.ts";
import { type Solo, solo } from "../helpers/solo.ts";

const SIZE_MB = 16;
const dir = mkdtempSync(join(tmpdir(), "kubeport-full-"));
const mnt = join(dir, "disk");

/** Root can mount a tmpfs (CI); anywhere else the test says why it is skipped. */
function mountTmpfs(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root to mount a small tmpfs (CI runs as root)";
  mkdirSync(mnt, { recursive: true });
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${SIZE_MB}m`, "tmpfs", mnt], {
    stderr: "pipe",
  });
  return r.exitCode === 0 ? undefined : `cannot mount a tmpfs: ${r.stderr.toString().trim()}`;
}
const skipped = mountTmpfs();

let kp: Solo;
beforeAll(async () => {
  if (skipped) return;
  kp = await solo({ dir: join(dir, "run"), dataDir: join(mnt, "data") });
  kp.start();
  await kp.waitReady();
}, 60_000);

afterAll(async () => {
  await kp?.terminate(10_000);
  if (!skipped) Bun.spawnSync(["umount", "-l", mnt]);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

const filler = join(mnt, "filler");
const walSize = () => {
  const f = join(mnt, "data", "registry.db-wal");
  return existsSync(f) ? statSync(f).size : 0;
};

/** Leaves about `freeMb` free on the tmpfs. */
function fill(freeMb: number): void {
  const r = Bun.spawnSync(["df", "--output=avail", "-B1", mnt], { stdout: "pipe" });
  const avail = Number(r.stdout.toString().trim().split("\n").at(-1));
  writeFileSync(filler, Buffer.alloc(Math.max(0, avail - freeMb * 1024 * 1024)));
}

(skipped ? test.skip : test)(
  `a full disk under the SQLite registry: /readyz reports it, and writes and checkpoints resume when space returns${
    skipped ? ` (skipped: ${skipped})` : ""
  }`,
  async () => {
    const role = join(dir, "role.yaml");
    writeFileSync(
      role,
      "kind: role\nversion: v1\nmetadata: { name: admin }\nspec: { allow: { kubernetes_labels: { '*': '*' }, kubernetes_groups: [view] } }\n",
    );
    expect((await kp.ctl(["create", "-f", role])).code).toBe(0);
    expect((await kp.ctl(["users", "add", "alice", "--roles", "admin"])).code).toBe(0);
    fill(1);
    // Roles with a 100 KB description, until the disk refuses one.
    const big = "x".repeat(100_000);
    let n = 0;
    const refused = await until(
      async () => {
        const f = join(dir, "big.yaml");
        writeFileSync(
          f,
          `kind: role\nversion: v1\nmetadata: { name: big-${n++}, description: ${big} }\nspec: { allow: { kubernetes_groups: [view] } }\n`,
        );
        const r = await kp.ctl(["create", "-f", f]);
        return r.code !== 0 && r.stderr.includes("disk is full") ? r.stderr : undefined;
      },
      60_000,
      "a write refused for lack of space",
      50,
    );
    expect(refused).toContain("database or disk is full");
    // The process's own writes (its heartbeat, every 10 s) fail too: it says so.
    const degraded = await until(
      async () => {
        const r = await kp.fetch("/readyz").catch(() => undefined);
        const body = r ? await r.text() : "";
        return r?.status === 503 && body.includes("refuses writes") ? body : undefined;
      },
      40_000,
      "/readyz to report that the registry refuses writes",
      200,
    );
    expect(degraded).toContain("disk is full");
    const walWhenFull = walSize();

    rmSync(filler);
    const freedAt = Date.now();
    await until(
      async () => (await kp.ctl(["users", "add", `after-${Date.now()}`, "--roles", "admin"])).code === 0,
      20_000,
      "a write to succeed once space is back",
      200,
    );
    await until(
      async () => (await kp.fetch("/readyz").catch(() => undefined))?.status === 200,
      20_000,
      "/readyz 200 again",
      200,
    );
    // Checkpoints resume: the WAL is copied into the database and truncated.
    await until(() => walSize() < 1024 * 1024, 20_000, "the WAL to be checkpointed and truncated", 200);
    console.info(
      `disk full: WAL ${walWhenFull} bytes when full, ${walSize()} bytes ${Date.now() - freedAt} ms after space returned`,
    );
    // And the process starts again on that directory.
    expect(await kp.terminate()).toBe(0);
    kp.start();
    await kp.waitReady();
    expect((await kp.ctl(["users", "ls"])).stdout).toContain("alice");
  },
  180_000,
);
