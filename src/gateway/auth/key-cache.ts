// A gateway-local copy of signing keys and users, kept fresh from the registry's change feed.
import { importJWK, type JWK } from "jose";
import { type Clock, sleep } from "../../lib/clock.ts";
import type { Logger } from "../../lib/log.ts";
import type { Backend, LoginSession, Resource, SigningKey, User, Watcher } from "../../registry/index.ts";

export interface KeyCache {
  /**
   * The public key for `kid` if it may verify now. On a miss, the keys are read from the registry
   * before refusing: at once, or — when a miss reload ran less than `missReloadMs` ago — at the end
   * of that window, shared by every miss meanwhile (so random kids cost one registry read a window,
   * and a just-rotated key is never refused because some other miss came first).
   */
  verifyingKey(kid: string): Promise<CryptoKey | Uint8Array | undefined>;
  /** The current user record (cached; read from the registry when the cache has not loaded). */
  user(name: string): Promise<User | undefined>;
  /**
   * A login session by its registry name (cached from the feed; one the feed has not brought yet —
   * made moments ago on another gateway — is read from the registry). Expiry is the caller's to check.
   */
  session(name: string): Promise<LoginSession | undefined>;
  close(): void;
}

export interface KeyCacheOptions {
  backend: Backend;
  clock: Clock;
  log: Logger;
  /** Without a change feed snapshot, cached entries are trusted this long. */
  maxAgeMs?: number;
  /** Minimum gap between reloads triggered by unknown kids (a random kid must not hammer the registry); a miss waits at most this long. */
  missReloadMs?: number;
  /** After a failed reload, the cache is served as it is and the registry asked again only after this. */
  staleRetryMs?: number;
  /** How long the request that starts a reload of a stale copy waits for it before using the copy. */
  staleWaitMs?: number;
}

/**
 * Starts watching signing keys and users; reads fall back to the registry until the first snapshot.
 * When the feed breaks, the copy is reloaded once it is older than `maxAgeMs` (a readable registry
 * answers at once, so a deletion still takes effect); while the registry cannot be read either (an
 * outage), the last loaded keys and users keep verifying tokens, as the gateway keeps serving its
 * cached clusters and roles (nothing can be revoked through a registry that is down), and no request
 * waits on the registry for longer than `staleWaitMs`.
 */
export function createKeyCache({
  backend,
  clock,
  log,
  maxAgeMs = 30_000,
  missReloadMs = 1000,
  staleRetryMs = 5000,
  staleWaitMs = 250,
}: KeyCacheOptions): KeyCache {
  const keys = new Map<string, SigningKey>();
  const users = new Map<string, User>();
  const sessions = new Map<string, LoginSession>();
  const imported = new Map<string, Promise<CryptoKey | Uint8Array>>();
  let loadedAt = -Infinity;
  let lastMissReload = -Infinity;
  /** The next miss reload, not started yet: every miss until it starts waits for it. */
  let nextMiss: Promise<void> | undefined;
  /** The miss reload reading the registry now (a miss arriving meanwhile needs a later read). */
  let missInFlight: Promise<void> | undefined;
  let fromFeed = false;
  let staleUntil = -Infinity;

  const kidOf = (k: SigningKey) => String(k.spec.public_jwk.kid ?? "");
  const setAll = (list: readonly Resource[]) => {
    keys.clear();
    users.clear();
    sessions.clear();
    for (const r of list) apply(r);
  };
  const apply = (r: Resource) => {
    if (r.kind === "signing_key") keys.set(r.metadata.name, r as SigningKey);
    if (r.kind === "user") users.set(r.metadata.name, r as User);
    if (r.kind === "login_session") sessions.set(r.metadata.name, r as LoginSession);
  };

  /** Replaces the cache from the registry (used while the feed has no snapshot); calls coalesce. */
  let reloading: Promise<void> | undefined;
  const reload = () =>
    (reloading ??= (async () => {
      try {
        const [k, u, s] = await Promise.all([
          backend.list("signing_key"),
          backend.list("user"),
          backend.list("login_session"),
        ]);
        setAll([...k, ...u, ...s]);
        loadedAt = clock.now();
      } finally {
        reloading = undefined;
      }
    })());
  /**
   * Adds keys the feed has not brought yet (a rotation on another gateway). Merges rather than
   * replaces, so a concurrent feed event (a deletion) is never overwritten by this older list.
   */
  const fetchNewKeys = async () => {
    for (const k of await backend.list("signing_key")) if (!keys.has(k.metadata.name)) apply(k);
  };

  /**
   * A reload for an unknown kid: starts when the window since the last one is over (at once when it
   * is) and after the one in flight, whose read may predate the key; misses meanwhile share it.
   */
  const missReload = (): Promise<void> => {
    if (nextMiss) return nextMiss;
    let slot: Promise<void> | undefined;
    slot = (async () => {
      await null; // `nextMiss = slot` below runs first
      const wait = lastMissReload + missReloadMs - clock.now();
      if (wait > 0) await sleep(Math.min(wait, missReloadMs));
      if (missInFlight) await missInFlight.catch(() => {});
      if (nextMiss === slot) nextMiss = undefined;
      lastMissReload = clock.now();
      const read = fromFeed ? fetchNewKeys() : reload();
      missInFlight = read;
      try {
        await read;
      } finally {
        if (missInFlight === read) missInFlight = undefined;
      }
    })();
    nextMiss = slot;
    return slot;
  };

  const watcher: Watcher = backend.watch(
    { kinds: ["signing_key", "user", "login_session"] },
    (e) => {
      if (e.type === "init") {
        setAll(e.resources);
        fromFeed = true;
        loadedAt = clock.now();
      } else if (e.type === "put") apply(e.resource);
      else if (e.kind === "signing_key") keys.delete(e.name);
      else if (e.kind === "user") users.delete(e.name);
      else if (e.kind === "login_session") sessions.delete(e.name);
    },
    (err) => {
      // The feed will resend a snapshot when it recovers; until then the age limit applies.
      fromFeed = false;
      log.warn({ err: (err as Error)?.message }, "signing key feed interrupted");
    },
  );

  const fresh = () => fromFeed || clock.now() - loadedAt < maxAgeMs;
  const ensureFresh = async () => {
    if (fresh()) return;
    // Nothing loaded yet: there is no copy to fall back to, so the request waits (and fails with it).
    if (loadedAt === -Infinity) return reload();
    // A reload is under way (another request waits for it) or the registry failed moments ago.
    if (reloading || clock.now() < staleUntil) return;
    const attempt = reload().then(
      () => {
        staleUntil = -Infinity;
      },
      (err) => {
        if (staleUntil === -Infinity)
          log.warn(
            { err: (err as Error)?.message },
            "registry unreadable; verifying with the last known keys and users",
          );
        staleUntil = clock.now() + staleRetryMs;
      },
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([attempt, new Promise((r) => (timer = setTimeout(r, staleWaitMs)))]);
    clearTimeout(timer);
  };

  const find = (kid: string) => {
    const now = clock.now();
    for (const k of keys.values()) {
      if (kidOf(k) !== kid) continue;
      if (k.metadata.expires !== undefined && Date.parse(k.metadata.expires) <= now) return undefined;
      return k;
    }
    return undefined;
  };

  return {
    async verifyingKey(kid) {
      await ensureFresh();
      let k = find(kid);
      if (!k) {
        await missReload();
        k = find(kid);
      }
      if (!k) return undefined;
      let p = imported.get(kid);
      if (!p) {
        p = importJWK(k.spec.public_jwk as JWK, k.spec.alg);
        imported.set(kid, p);
      }
      return p;
    },
    async user(name) {
      await ensureFresh();
      // A user created after the snapshot may not have reached us yet: ask the registry.
      return users.get(name) ?? ((await backend.get("user", name)) as User | undefined);
    },
    async session(name) {
      await ensureFresh();
      return sessions.get(name) ?? ((await backend.get("login_session", name)) as LoginSession | undefined);
    },
    close() {
      watcher.close();
    },
  };
}
