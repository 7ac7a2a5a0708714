// Exponential backoff with full jitter, for reconnects and retries.

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  random?: () => number;
}

/** Returns a function giving the delay before attempt n (0-based). */
export function createBackoff({ baseMs = 200, maxMs = 10_000, random = Math.random }: BackoffOptions = {}) {
  return (attempt: number): number => {
    const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
    return Math.round(cap / 2 + (random() * cap) / 2);
  };
}

/** Spreads a period by ±fraction so many pollers do not line up. */
export function jitter(ms: number, fraction = 0.1, random = Math.random): number {
  return Math.round(ms * (1 - fraction + 2 * fraction * random()));
}
