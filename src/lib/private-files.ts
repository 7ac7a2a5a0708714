// Files that hold secrets (the registry with its private signing keys, generated TLS keys, tokens,
// kubeconfigs) are 0600 and their directories 0700. What kubeport creates is created so; what it
// finds too open is fixed at start with a warning, or, when kubeport may not change it (another
// user's), refused with the command that fixes it.
import { chmodSync, closeSync, mkdirSync, openSync, statSync, writeFileSync } from "node:fs";
import { badParameter } from "./errors.ts";
import type { Logger } from "./log.ts";

const PRIVATE_FILE = 0o600;
const PRIVATE_DIR = 0o700;

const myUid = () => process.getuid?.();
const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * Checks an existing path: group or other permission bits → chmod to `mode` and a warning; when
 * that is not allowed (another user's file) → refused with the command that fixes it. `what`
 * names it in messages (a config key).
 */
function secure(path: string, mode: number, what: string, log: Logger | undefined): void {
  const st = statOrUndefined(path);
  if (!st || (st.mode & 0o077) === 0) return;
  const kind = st.isDirectory() ? "directory" : "file";
  try {
    chmodSync(path, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "EACCES") throw err;
    throw badParameter(
      `${what} ${path} is mode ${octal(st.mode)}, open to other users, and holds secrets; kubeport (uid ${myUid()}) ` +
        `cannot change it (owner uid ${st.uid}): run chmod ${octal(mode)} ${path} as its owner` +
        (kind === "directory" ? ", or point the setting at a directory kubeport creates" : ""),
      err,
    );
  }
  log?.warn(
    { path, was: octal(st.mode), now: octal(mode) },
    `${what}: ${kind} was open to other users (it holds secrets); permissions fixed`,
  );
}

/** Creates `dir` (0700, parents as needed) or makes an existing one private (see `secure`). */
export function ensurePrivateDir(dir: string, what: string, log?: Logger): void {
  if (!statOrUndefined(dir)) {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
    // mkdir's mode passes through the umask; a umask never widens it, but say it exactly.
    chmodSync(dir, PRIVATE_DIR);
    return;
  }
  secure(dir, PRIVATE_DIR, what, log);
}

/** Makes an existing secret file 0600 (see `secure`); a missing one is left missing. */
export function ensurePrivateFile(path: string, what: string, log?: Logger): void {
  secure(path, PRIVATE_FILE, what, log);
}

/**
 * Creates `path` empty with mode 0600 when it does not exist, or makes an existing one private:
 * for files another program fills (SQLite creates its -wal and -shm with the database's mode).
 */
export function createPrivateFile(path: string, what: string, log?: Logger): void {
  if (statOrUndefined(path)) ensurePrivateFile(path, what, log);
  else closeSync(openSync(path, "a", PRIVATE_FILE));
}

/** Writes a secret file with mode 0600, also when it existed with another mode. */
export function writePrivateFile(path: string, data: string | Uint8Array): void {
  writeFileSync(path, data, { mode: PRIVATE_FILE });
  chmodSync(path, PRIVATE_FILE);
}
