// One sign-in at a time per gateway: kubectl, Lens and friends run the credential plugin in
// parallel, and each must not open its own browser tab (teleport#30656). An O_EXCL lock file.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/** A lock older than this is left over from a process that died; it is taken over. */
const STALE_MS = 5 * 60_000;

/** Takes the lock at `path`; returns its release, or undefined when another process holds it. */
export function tryLock(path: string): (() => void) | undefined {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (!isStale(path)) return undefined;
      rmSync(path, { force: true });
    }
  }
  return undefined;
}

function isStale(path: string): boolean {
  try {
    if (Date.now() - statSync(path).mtimeMs > STALE_MS) return true;
    const pid = Number(readFileSync(path, "utf8"));
    if (!(pid > 0)) return false;
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // ESRCH: the holder is gone.
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}
