// A short-lived cache of verified bearer tokens in front of the Authenticator: signature checks cost
// ~160 µs per request, and kubectl sends the same token on every call. Entries live at most `ttlMs`
// (and never past the token's expiry), so a deleted user or a rotated key is refused within that time.
import type { Clock } from "../lib/clock.ts";
import { systemClock } from "../lib/clock.ts";
import type { Authenticator, Identity } from "./identity.ts";

export interface AuthCacheOptions {
  ttlMs?: number;
  maxEntries?: number;
  clock?: Clock;
}

export interface CachingAuthenticator extends Authenticator {
  /** Forgets every verified token (call when users or signing keys change). */
  clear(): void;
}

/** Wraps `inner`; refusals are never cached. */
export function cachingAuthenticator(
  inner: Authenticator,
  { ttlMs = 1000, maxEntries = 10_000, clock = systemClock }: AuthCacheOptions = {},
): CachingAuthenticator {
  const cache = new Map<string, { identity: Promise<Identity>; until: number; value?: Identity }>();
  return {
    clear: () => cache.clear(),
    // Rare (ctl kube ls) and never cached: it grants no cluster.
    ...(inner.isStatusReader ? { isStatusReader: inner.isStatusReader.bind(inner) } : {}),
    verified(header) {
      if (!header) return undefined;
      const hit = cache.get(header);
      return hit?.value && hit.until > clock.now() ? hit.value : undefined;
    },
    authenticate(header) {
      if (!header) return inner.authenticate(header);
      const now = clock.now();
      const hit = cache.get(header);
      if (hit && hit.until > now) return hit.identity;
      if (cache.size >= maxEntries) cache.clear();
      // Concurrent requests with one token share a single verification.
      const identity = inner.authenticate(header);
      const entry: { identity: Promise<Identity>; until: number; value?: Identity } = {
        identity,
        until: now + ttlMs,
      };
      cache.set(header, entry);
      identity.then(
        (id) => {
          if (id.expiresAt !== undefined) entry.until = Math.min(entry.until, id.expiresAt);
          entry.value = id;
        },
        () => {
          if (cache.get(header) === entry) cache.delete(header);
        },
      );
      return identity;
    },
  };
}
