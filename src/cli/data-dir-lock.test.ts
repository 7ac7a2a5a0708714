import { afterEach, expect, test } from "bun:test";
import { closeSync, constants, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tryLockExclusive } from "../lib/flock.ts";
import { LOCK_FILE, lockDataDir } from "./data-dir-lock.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/**
 * A holder of a fresh data_dir's lock that has not written its pid yet: the lock taken on the empty
 * file through an open file description of its own (which conflicts with lockDataDir's as another
 * process's would).
 */
function holdLock(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "kubeport-lock-"));
  const path = join(dir, LOCK_FILE);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  cleanups.push(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  expect(tryLockExclusive(fd)).toBe(true);
  return { dir, path };
}

test("refused in the instant between the holder's lock and its pid: the error still names the holder's pid", () => {
  const { dir, path } = holdLock();
  // The pid written a moment later, by a process of its own (lockDataDir waits synchronously).
  Bun.spawn(["sh", "-c", `sleep 0.3; printf '4242\\n' > '${path}'`]);
  expect(() => lockDataDir(dir)).toThrow(`(pid 4242, holding ${path})`);
});

test("a lock file whose holder never writes a pid: refused after a short wait, naming no pid", () => {
  const { dir } = holdLock();
  expect(() => lockDataDir(dir)).toThrow("(pid unknown, holding");
});
