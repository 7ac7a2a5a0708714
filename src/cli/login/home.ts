// ~/.kubeport: login profiles and per-cluster token caches, private to the user (0700 / 0600).
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** `$KUBEPORT_HOME`, else `~/.kubeport` (`$HOME` as the environment gives it, so tests and sudo agree). */
export function kubeportHome(env: Record<string, string | undefined>): string {
  if (env.KUBEPORT_HOME) return env.KUBEPORT_HOME;
  return join(env.HOME || homedir(), ".kubeport");
}

/** A file name for a gateway host:port (":" is not welcome in every file system). */
export const fileKey = (proxy: string): string => proxy.replace(/[^A-Za-z0-9._-]/g, "_");

/** Writes `text` whole (temporary file, rename) with mode 0600, its directories 0700. */
export function writePrivate(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** The file's JSON, or undefined when it is missing or unreadable (a cache is only a cache). */
export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

export const removePath = (path: string): void => rmSync(path, { recursive: true, force: true });
