// Chooses and opens the configured registry backend (SQLite embedded, or Redis for HA).
import type { StorageConfig } from "../config/index.ts";
import { createBackoff } from "../lib/backoff.ts";
import { sleep } from "../lib/clock.ts";
import { badParameter, describeError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { openSqliteBackend } from "./sqlite/sqlite-backend.ts";
import type { Backend } from "./types.ts";

/** How long one "are you there" waits: a Cluster client queues commands until it has a slot map. */
const PING_WAIT_MS = 3000;

/**
 * Pings, giving up after `ms` or when `signal` aborts. ioredis's Cluster client holds a command in
 * its offline queue while no node answers, where neither commandTimeout nor a signal reaches it.
 */
async function answersWithin(backend: Backend, ms: number, signal?: AbortSignal): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      backend.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
        onAbort = () => reject(signal?.reason);
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

export interface CreateBackendOptions {
  log: Logger;
  /** Aborts the wait for an unreachable Redis (e.g. on shutdown during start); rejects with its reason. */
  signal?: AbortSignal;
}

/**
 * Opens the backend `storage` describes. For Redis, an unreachable server is retried with
 * backoff (logging "waiting for redis at …" each attempt) until it answers or `signal` aborts;
 * it never gives up on its own.
 */
export async function createBackend(
  storage: StorageConfig,
  { log, signal }: CreateBackendOptions,
): Promise<Backend> {
  const rlog = log.child({ component: "registry" });
  if (storage.type === "sqlite") return openSqliteBackend({ path: storage.path, log: rlog });
  if (storage.type !== "redis")
    throw badParameter(`storage.type: unknown type ${JSON.stringify((storage as { type: unknown }).type)}`);
  // Loaded only for a Redis registry: ioredis (with node:net and node:tls under it) is a large part
  // of what a SQLite start would otherwise evaluate before it serves.
  const [{ openRedisBackend }, { describeTarget }] = await Promise.all([
    import("./redis/redis-backend.ts"),
    import("./redis/client.ts"),
  ]);
  const backend = openRedisBackend({ ...storage, log: rlog });
  const target = describeTarget(storage);
  const backoff = createBackoff({ baseMs: 250, maxMs: 5000 });
  for (let attempt = 0; ; attempt++) {
    try {
      if (signal?.aborted) throw signal.reason;
      await answersWithin(backend, PING_WAIT_MS, signal);
      if (attempt > 0) rlog.info({ target }, "connected to redis");
      return backend;
    } catch (err) {
      if (signal?.aborted) {
        await backend.close();
        throw signal.reason;
      }
      const delay = backoff(attempt);
      rlog.warn(
        { target, attempt: attempt + 1, retry_in_ms: delay, err: describeError(err) },
        `waiting for redis at ${target}`,
      );
      try {
        await sleep(delay, signal);
      } catch (abortErr) {
        await backend.close();
        throw abortErr;
      }
    }
  }
}
