import { afterEach, expect, test } from "bun:test";
import { closeSync, constants, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tryLockExclusive } from "../lib/flock.ts";
import { LOCK_FILE, lockDataDir } from "./data-dir-lock.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("refused in the instant between the holder's lock and its pid: the error still names the holder's pid", () => {
  const dir = mkdtempSync(join(tmpdir(), "kubeport-lock-"));
  dirs.push(dir);
  const path = join(dir, LOCK_FILE);
  // The holder: the lock taken on a fresh, still empty file (another open file description conflicts
  // with it as another process's would)…
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  try {
    expect(tryLockExclusive(fd)).toBe(true);
    // …and its pid written a moment later, by a process of its own (lockDataDir waits synchronously).
    Bun.spawn(["sh", "-c", `sleep 0.3; printf '4242\\n' > '${path}'`]);
    expect(() => lockDataDir(dir)).toThrow(`(pid 4242, holding ${path})`);
  } finally {
    closeSync(fd);
  }
});

test("a lock file whose holder never writes a pid: refused after a short wait, naming no pid", () => {
  const dir = mkdtempSync(join(tmpdir(), "kubeport-lock-"));
  dirs.push(dir);
  const path = join(dir, LOCK_FILE);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  try {
    expect(tryLockExclusive(fd)).toBe(true);
    expect(() => lockDataDir(dir)).toThrow("(pid unknown, holding");
  } finally {
    closeSync(fd);
  }
});
