// Failed sign-ins counted per user name and per client address; too many lock the name (or address)
// out for a while. Unknown names are counted exactly as known ones, so a lockout tells nothing.
import { formatDuration } from "../../lib/duration.ts";
import { KubeportError } from "../../lib/errors.ts";

export interface AttemptsOptions {
  /** Failures of one user name before it is locked out. */
  maxFailures: number;
  /** Failures from one address before it is locked out (several people may share one). */
  maxAddressFailures?: number;
  lockoutMs: number;
  now?: () => number;
  /** Names and addresses remembered at most (the oldest entry goes first). */
  maxEntries?: number;
}

interface Entry {
  failures: number;
  /** Failures are forgotten a lockout's length after the last one. */
  last: number;
  lockedUntil: number;
}

/** A sign-in refused because of earlier failures; `retryAfterMs` is what the person is shown. */
export class LockedOut extends KubeportError {
  constructor(readonly retryAfterMs: number) {
    super(
      "access_denied",
      `too many failed sign-ins: try again in ${formatDuration(Math.max(1000, Math.ceil(retryAfterMs / 1000) * 1000))}`,
    );
  }
}

export interface Attempts {
  /** Throws LockedOut when the name or the address is locked out now. */
  check(user: string, address: string): void;
  /** Counts a failure for both; returns the lockout it started, if any. */
  fail(user: string, address: string): LockedOut | undefined;
  /** A success clears the name's count (not the address's: one good password does not vouch for the rest). */
  succeed(user: string): void;
}

export function createAttempts({
  maxFailures,
  maxAddressFailures = maxFailures * 4,
  lockoutMs,
  now = Date.now,
  maxEntries = 100_000,
}: AttemptsOptions): Attempts {
  const entries = new Map<string, Entry>();
  const key = (kind: "user" | "addr", v: string) => `${kind}\u0000${kind === "user" ? v.toLowerCase() : v}`;
  const live = (k: string, t: number): Entry | undefined => {
    const e = entries.get(k);
    if (e && e.lockedUntil <= t && t - e.last > lockoutMs) {
      entries.delete(k);
      return undefined;
    }
    return e;
  };
  const lockedFor = (k: string, t: number) => {
    const e = live(k, t);
    return e && e.lockedUntil > t ? e.lockedUntil - t : 0;
  };
  const bump = (k: string, max: number, t: number): number => {
    let e = live(k, t);
    if (!e) {
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
      e = { failures: 0, last: t, lockedUntil: 0 };
      entries.set(k, e);
    }
    e.failures++;
    e.last = t;
    if (e.failures >= max) {
      e.lockedUntil = t + lockoutMs;
      e.failures = 0;
      return lockoutMs;
    }
    return 0;
  };
  return {
    check(user, address) {
      const t = now();
      const wait = Math.max(lockedFor(key("user", user), t), lockedFor(key("addr", address), t));
      if (wait > 0) throw new LockedOut(wait);
    },
    fail(user, address) {
      const t = now();
      const wait = Math.max(
        bump(key("user", user), maxFailures, t),
        bump(key("addr", address), maxAddressFailures, t),
      );
      return wait > 0 ? new LockedOut(wait) : undefined;
    },
    succeed(user) {
      entries.delete(key("user", user));
    },
  };
}
