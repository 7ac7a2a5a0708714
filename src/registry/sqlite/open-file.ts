// Opens the registry file, naming the path and what to check when the directory or file cannot be
// used (SQLite itself only says "unable to open database file").
import { Database } from "bun:sqlite";
import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { unavailable } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log.ts";
import { createPrivateFile, ensurePrivateFile } from "../../lib/private-files.ts";
import { prepareDatabase } from "./schema.ts";

/** Why `dir` cannot hold the registry, when it visibly cannot. */
function dirProblem(dir: string): string | undefined {
  if (!existsSync(dir)) return `${dir} does not exist`;
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "EROFS" ? `${dir} is on a read-only file system` : `${dir} is not writable by this user`;
  }
  return undefined;
}

/** Creates the directory when missing, opens (creating) the file, and prepares its tables. */
export function openFile(path: string, busyTimeoutMs: number, log?: Logger): Database {
  if (path === ":memory:") {
    const db = new Database(path, { create: true, strict: true });
    prepareDatabase(db, busyTimeoutMs);
    return db;
  }
  const dir = dirname(path);
  try {
    // The registry holds the private signing keys: its directory 0700 when made here.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw unavailable(`sqlite registry at ${path}: cannot create ${dir}: ${(err as Error).message}`, err);
  }
  let db: Database | undefined;
  try {
    // The file 0600 before SQLite opens it: SQLite creates -wal and -shm with the database's mode.
    createPrivateFile(path, "kubeport.storage.path", log);
    for (const f of [`${path}-wal`, `${path}-shm`]) ensurePrivateFile(f, "kubeport.storage.path", log);
    db = new Database(path, { create: true, strict: true });
    prepareDatabase(db, busyTimeoutMs);
    return db;
  } catch (err) {
    db?.close();
    const why = dirProblem(dir);
    throw unavailable(
      `sqlite registry at ${path}: ${(err as Error).message}${why ? ` (${why}; the registry, its -wal and -shm files need a writable data_dir)` : ""}`,
      err,
    );
  }
}
