// Token buckets per key (client address, user): `average` tokens per `period` refill a bucket of at
// most `burst`. Refilled lazily from the clock when touched, so there are no timers, no promises on
// the request path, and a test with a tiny rate gets exact counts.
import type { RateLimit } from "../../config/index.ts";
import type { Clock } from "../../lib/clock.ts";

export interface TokenBuckets {
  /** Milliseconds until `key` has a whole token (0: it has one now). Takes nothing. */
  wait(key: string): number;
  /** Takes one token; returns 0, or the wait until one is available when there was none (nothing taken). */
  take(key: string): number;
  /**
   * Takes one token even when there is none: the bucket goes into debt (down to -burst) and the key
   * waits longer. For charges known only after the fact (a request that failed authentication).
   */
  charge(key: string): void;
  /** Buckets held (for tests and memory bounds). */
  size(): number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export interface TokenBucketOptions {
  clock: Clock;
  /** Buckets kept; past it full ones are dropped, then the least recently used. */
  maxKeys?: number;
}

/** Buckets for one rate. */
export function createTokenBuckets(
  { average, burst, period }: RateLimit,
  { clock, maxKeys = 100_000 }: TokenBucketOptions,
): TokenBuckets {
  const perMs = average / period;
  const buckets = new Map<string, Bucket>();

  const refill = (b: Bucket, now: number) => {
    if (now > b.at) b.tokens = Math.min(burst, b.tokens + (now - b.at) * perMs);
    b.at = now;
  };
  const evict = (now: number) => {
    for (const [k, b] of buckets) {
      refill(b, now);
      if (b.tokens >= burst) buckets.delete(k);
    }
    // Still full: the least recently used go (Map order is insertion order; get() re-inserts).
    for (const k of buckets.keys()) {
      if (buckets.size < maxKeys) break;
      buckets.delete(k);
    }
  };
  const get = (key: string): Bucket => {
    const now = clock.now();
    let b = buckets.get(key);
    if (b) {
      buckets.delete(key);
      refill(b, now);
    } else {
      if (buckets.size >= maxKeys) evict(now);
      b = { tokens: burst, at: now };
    }
    buckets.set(key, b);
    return b;
  };
  // The epsilon keeps float noise (0.998 tokens at 2/s) from adding a whole millisecond.
  const waitFor = (b: Bucket) => (b.tokens >= 1 ? 0 : Math.ceil((1 - b.tokens) / perMs - 1e-9));

  return {
    wait: (key) => {
      const b = buckets.get(key);
      if (!b) return 0;
      refill(b, clock.now());
      return waitFor(b);
    },
    take: (key) => {
      const b = get(key);
      const w = waitFor(b);
      if (w === 0) b.tokens -= 1;
      return w;
    },
    charge: (key) => {
      const b = get(key);
      b.tokens = Math.max(-burst, b.tokens - 1);
    },
    size: () => buckets.size,
  };
}
