// Leader election over the backend's lock: renew every ttl/3, try to acquire often, hand over at once
// on stop, and stop acting at the lease's local deadline whatever the store says later.
import { describeError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { lockOpTimeout, newSession } from "./lease.ts";
import type { Backend, Lease } from "./types.ts";

export interface LeaderElectorOptions {
  backend: Backend;
  lock: string;
  holder: string;
  ttlMs: number;
  log: Logger;
  /** Called when this holder becomes leader; pass `{ fence: lease }` on writes. */
  onElected: (lease: Lease) => void | Promise<void>;
  /**
   * Called as soon as leadership is lost: a renewal refused, failed or not confirmed, or the
   * lease's local deadline passed without a confirmed renewal. Stop acting at once.
   */
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
  /** The lease while it is held and its deadline has not passed. */
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
  // This elector's own leases: one it could not confirm, or lost the answer to, it may take back.
  const session = newSession();
  let lease: Lease | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  // After a failed acquire (store unreachable) retry at the slower pace: no log line every 500 ms.
  let acquireFailed = false;
  // The store may hold a lease of our session we do not use (not confirmed, answer lost, renewal
  // failed): stop() releases it so the other holder need not wait for its TTL.
  let leftover = false;
  let inFlight: Promise<void> = Promise.resolve();

  const call = (fn: () => void | Promise<void>, what: string) => {
    Promise.resolve()
      .then(fn)
      .catch((err) => log.error({ lock, err: describeError(err) }, `leader ${what} callback failed`));
  };

  const lose = (why: string) => {
    if (!lease) return;
    log.warn({ lock, holder, token: lease.token, why }, "lost leadership");
    lease = undefined;
    leftover = true;
    clearTimeout(deadlineTimer);
    call(onLost, "onLost");
  };

  /** Holds `l` until its deadline; a confirmed renewal calls this again with the later one. */
  const hold = (l: Lease) => {
    lease = l;
    clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(
      () => {
        if (lease === l) lose("the lease's deadline passed without a confirmed renewal");
      },
      Math.max(0, l.deadline - performance.now()),
    );
  };

  const step = async () => {
    if (!running) return;
    const held = lease;
    if (!held) {
      try {
        const got = await backend.acquireLock(lock, holder, ttlMs, session);
        acquireFailed = false;
        if (!got) {
          leftover = false;
          return;
        }
        leftover = true;
        if (!running || performance.now() >= got.deadline) {
          await backend.releaseLock(got).catch(() => undefined);
          return;
        }
        hold(got);
        log.info({ lock, holder, token: got.token }, "elected leader");
        call(() => onElected(got), "onElected");
      } catch (err) {
        acquireFailed = true;
        leftover = true;
        log.warn({ lock, err: describeError(err) }, "leader lock acquire failed");
      }
      return;
    }
    try {
      const renewed = await backend.renewLock(held, ttlMs);
      // Lost meanwhile (the deadline passed while the renewal hung): its answer changes nothing.
      if (!running || lease !== held) return;
      if (renewed && performance.now() < renewed.deadline) hold(renewed);
      else
        lose(
          renewed
            ? "the renewal came back after its own deadline"
            : "renew refused: the lease was taken or released",
        );
    } catch (err) {
      // Unreachable, or not confirmed by a replica: we cannot prove we hold it, so step down now.
      if (running && lease === held) lose(`renew failed: ${describeError(err)}`);
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
      clearTimeout(deadlineTimer);
      // A store call answers within one lock-operation timeout; a hung one must not hold up shutdown.
      let waited: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([inFlight, new Promise((r) => (waited = setTimeout(r, lockOpTimeout(ttlMs))))]);
      clearTimeout(waited);
      const held = lease;
      lease = undefined;
      if (!held && !leftover) return;
      try {
        await backend.releaseLock(held ?? { lock, holder, session });
        if (held) log.info({ lock, holder, token: held.token }, "released leadership");
      } catch (err) {
        log.warn({ lock, err: describeError(err) }, "leader lock release failed; it expires by its TTL");
      }
    },
    current: () => (lease && performance.now() < lease.deadline ? lease : undefined),
  };
}
