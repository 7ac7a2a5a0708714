// Leader election over the backend's lock: renew every ttl/3, try to acquire often, hand over at once on stop.
import { describeError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { Backend, Lease } from "./types.ts";

export interface LeaderElectorOptions {
  backend: Backend;
  lock: string;
  holder: string;
  ttlMs: number;
  log: Logger;
  /** Called when this holder becomes leader; pass `{ fence: { lock, token: lease.token } }` on writes. */
  onElected: (lease: Lease) => void | Promise<void>;
  /** Called as soon as leadership is lost (renew refused or failing past the lease's expiry). */
  onLost: () => void | Promise<void>;
  /**
   * How often a non-holder tries to acquire (capped at ttl/3). Short, so a lock released on a
   * graceful stop is taken at once rather than at the next ttl/3 tick; default 500 ms.
   */
  acquireEveryMs?: number;
}

const DEFAULT_ACQUIRE_EVERY_MS = 500;

export interface LeaderElector {
  start(): void;
  /** Stops campaigning and releases the lock at once, so another holder takes over without waiting for the TTL. */
  stop(): Promise<void>;
  current(): Lease | undefined;
}

/** Creates a leader elector; nothing happens until `start()`. */
export function createLeaderElector({
  backend,
  lock,
  holder,
  ttlMs,
  log,
  onElected,
  onLost,
  acquireEveryMs = DEFAULT_ACQUIRE_EVERY_MS,
}: LeaderElectorOptions): LeaderElector {
  const period = Math.max(10, Math.floor(ttlMs / 3));
  const acquirePeriod = Math.max(10, Math.min(period, acquireEveryMs));
  let lease: Lease | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  // After a failed acquire (store unreachable) retry at the slower pace: no log line every 500 ms.
  let acquireFailed = false;
  let inFlight: Promise<void> = Promise.resolve();

  const call = (fn: () => void | Promise<void>, what: string) => {
    Promise.resolve()
      .then(fn)
      .catch((err) => log.error({ lock, err: describeError(err) }, `leader ${what} callback failed`));
  };

  // The token of the lease we last stepped down from: after a failover we may find it still ours.
  let previous: number | undefined;

  const lose = (why: string) => {
    log.warn({ lock, holder, token: lease?.token, why }, "lost leadership");
    previous = lease?.token;
    lease = undefined;
    call(onLost, "onLost");
  };

  const step = async () => {
    if (!running) return;
    if (!lease) {
      try {
        const got = await backend.acquireLock(lock, holder, ttlMs, previous);
        acquireFailed = false;
        if (got) previous = undefined;
        if (got && running) {
          lease = got;
          log.info({ lock, holder, token: got.token }, "elected leader");
          call(() => onElected(got), "onElected");
        } else if (got) {
          await backend.releaseLock(got);
        }
      } catch (err) {
        acquireFailed = true;
        log.warn({ lock, err: describeError(err) }, "leader lock acquire failed");
      }
      return;
    }
    try {
      const renewed = await backend.renewLock(lease, ttlMs);
      if (!running) return;
      if (renewed) lease = renewed;
      else lose("renew refused: the lease was taken or released");
    } catch (err) {
      // The store is unreachable: we cannot prove we still hold the lock, so step down now.
      lose(`renew failed: ${describeError(err)}`);
    }
  };

  const loop = () => {
    if (!running) return;
    inFlight = step().finally(() => {
      if (running) timer = setTimeout(loop, lease || acquireFailed ? period : acquirePeriod);
    });
  };

  return {
    start() {
      if (running) return;
      running = true;
      loop();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await inFlight;
      const held = lease;
      lease = undefined;
      if (held) {
        try {
          await backend.releaseLock(held);
          log.info({ lock, holder, token: held.token }, "released leadership");
        } catch (err) {
          log.warn({ lock, err: describeError(err) }, "leader lock release failed; it expires by its TTL");
        }
      }
    },
    current: () => lease,
  };
}
