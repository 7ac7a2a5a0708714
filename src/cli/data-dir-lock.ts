// One kubeport process per data_dir: an exclusive flock on <data_dir>/kubeport.lock, holding the
// owner's pid. Two processes on one directory would share its instance id (one's stop deletes the
// other's inventory record), race to generate its TLS files, and (SQLite) its registry.
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { unavailable } from "../lib/errors.ts";
import { tryLockExclusive } from "../lib/flock.ts";

export const LOCK_FILE = "kubeport.lock";

export interface DataDirLock {
  path: string;
  /** Lets it go (the kernel also does when the process ends, however it ends). */
  release(): void;
}

/** How long a refused process waits for the holder's pid to appear in the lock file. */
const HOLDER_PID_WAIT_MS = 2_000;

/**
 * The pid in the lock file. The holder writes it just after taking the lock, so a process refused in
 * that instant (two started at once on a fresh data_dir) finds the file still empty: it waits a
 * moment for the pid rather than naming no process.
 */
function holderPid(path: string): string {
  for (let waited = 0; ; waited += 10) {
    const pid = readFileSync(path, "utf8").trim();
    if (pid || waited >= HOLDER_PID_WAIT_MS) return pid;
    Bun.sleepSync(10);
  }
}

/** Takes the data_dir's lock, or throws naming the process that holds it. */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, LOCK_FILE);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  let locked: boolean;
  try {
    locked = tryLockExclusive(fd);
  } catch (err) {
    closeSync(fd);
    throw unavailable(`cannot lock ${path}: ${(err as Error).message}`, err);
  }
  if (!locked) {
    closeSync(fd);
    const pid = holderPid(path);
    throw unavailable(
      `data_dir ${dataDir} is in use by another kubeport process (pid ${pid || "unknown"}, holding ${path}): stop it, or give this one a data_dir of its own (two processes on one directory would share its instance id, TLS files and SQLite registry)`,
    );
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      closeSync(fd);
    },
  };
}
