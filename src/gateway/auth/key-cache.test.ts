// The key cache: finds keys the feed has not delivered yet, and random kids cannot hammer the registry.
import { expect, test } from "bun:test";
import { unavailable } from "../../lib/errors.ts";
import { silentLogger } from "../../lib/log.ts";
import { type Backend, openSqliteBackend } from "../../registry/index.ts";
import { createKeyCache, type KeyCache, type KeyCacheOptions } from "./key-cache.ts";
import { ensureSigningKey, rotateSigningKey } from "./signing-keys.ts";

/**
 * Runs `fn` with a key cache reading `reader` (the registry `backend`, or a wrapper of it) on a clock
 * the test moves with `advance`; closes the cache and the registry afterwards.
 */
async function withCache(
  backend: Backend,
  reader: Backend,
  opts: Partial<Omit<KeyCacheOptions, "backend" | "clock" | "log">>,
  fn: (cache: KeyCache, advance: (ms: number) => void) => Promise<void>,
): Promise<void> {
  let now = Date.now();
  const cache = createKeyCache({ backend: reader, clock: { now: () => now }, log: silentLogger, ...opts });
  try {
    await fn(cache, (ms) => {
      now += ms;
    });
  } finally {
    cache.close();
    await backend.close();
  }
}

function countingBackend() {
  // A slow feed (10 s) so only the cache's own reads bring news.
  const backend = openSqliteBackend({ path: ":memory:", pollMs: 10_000 });
  const calls = { list: 0 };
  const counted: Backend = {
    ...backend,
    list: (kind, opts) => {
      calls.list++;
      return backend.list(kind, opts);
    },
  };
  return { backend, counted, calls };
}

test("an unknown kid reloads once from the registry; another unknown kid within the window does not", async () => {
  const { backend, counted, calls } = countingBackend();
  await withCache(backend, counted, { missReloadMs: 1000 }, async (cache, advance) => {
    await Bun.sleep(100); // the feed's first snapshot (empty)
    const key = await ensureSigningKey(backend);
    const before = calls.list;
    expect(await cache.verifyingKey(String(key.spec.public_jwk.kid))).toBeDefined();
    expect(calls.list).toBe(before + 1);
    expect(await cache.verifyingKey("random-1")).toBeUndefined();
    expect(await cache.verifyingKey("random-2")).toBeUndefined();
    expect(calls.list).toBe(before + 1);
    advance(1000);
    expect(await cache.verifyingKey("random-3")).toBeUndefined();
    expect(calls.list).toBe(before + 2);
  });
});

test("a retired key stops verifying at its expiry even before the registry sweeps it", async () => {
  const backend = openSqliteBackend({ path: ":memory:", pollMs: 20 });
  await withCache(backend, backend, {}, async (cache, advance) => {
    const old = await ensureSigningKey(backend);
    await rotateSigningKey(backend, { retireAfterMs: 60_000 });
    await Bun.sleep(100);
    const kid = String(old.spec.public_jwk.kid);
    expect(await cache.verifyingKey(kid)).toBeDefined();
    advance(61_000);
    expect(await cache.verifyingKey(kid)).toBeUndefined();
  });
});

/**
 * A registry whose reads and change feed the test controls: "up", "down" (reads fail), "hang"
 * (reads never answer) or "quiet" (reads work, the feed brings nothing); breakFeed() reports the
 * feed broken to the cache, as a lost connection or a gap does.
 */
function controlledRegistry() {
  const backend = openSqliteBackend({ path: ":memory:", pollMs: 20 });
  const state = { mode: "up" as "up" | "down" | "hang" | "quiet", lists: 0 };
  let feedError: ((err: unknown) => void) | undefined;
  const read = <T>(real: () => Promise<T>): Promise<T> =>
    state.mode === "down"
      ? Promise.reject(unavailable("registry down"))
      : state.mode === "hang"
        ? new Promise<T>(() => {})
        : real();
  const controlled: Backend = {
    ...backend,
    list: (kind, opts) => {
      state.lists++;
      return read(() => backend.list(kind, opts));
    },
    get: (kind, name) => read(() => backend.get(kind, name)),
    watch: (opts, onEvent, onError) => {
      feedError = onError;
      return backend.watch(opts, (e) => (state.mode === "up" ? onEvent(e) : undefined), onError);
    },
  };
  return { backend, controlled, state, breakFeed: (why: string) => feedError?.(unavailable(why)) };
}

test("keeps verifying with the last known keys while the feed and the registry are down, past maxAgeMs", async () => {
  const { backend, controlled, state, breakFeed } = controlledRegistry();
  await withCache(backend, controlled, { maxAgeMs: 30_000, staleRetryMs: 5000 }, async (cache, advance) => {
    const key = await ensureSigningKey(backend);
    const kid = String(key.spec.public_jwk.kid);
    await Bun.sleep(100);
    expect(await cache.verifyingKey(kid)).toBeDefined();
    // The feed delivered its snapshot long ago; it breaks only now, and the registry is down too.
    advance(120_000);
    state.mode = "down";
    breakFeed("connection lost");
    const before = state.lists;
    expect(await cache.verifyingKey(kid)).toBeDefined(); // reload fails: the last keys still verify
    const tried = state.lists;
    expect(tried).toBeGreaterThan(before);
    expect(await cache.verifyingKey(kid)).toBeDefined();
    expect(state.lists).toBe(tried); // no registry call per request during the outage
    advance(5000);
    expect(await cache.verifyingKey(kid)).toBeDefined();
    expect(state.lists).toBeGreaterThan(tried); // asks again after staleRetryMs
    state.mode = "up";
    advance(5000);
    await rotateSigningKey(backend, { retireAfterMs: 0 });
    expect(await cache.verifyingKey(kid)).toBeUndefined(); // back: reloaded, the retired key is gone
  });
});

test("with the feed broken but the registry readable, a deleted user is gone on the next request", async () => {
  const { backend, controlled, state, breakFeed } = controlledRegistry();
  await withCache(backend, controlled, { maxAgeMs: 30_000 }, async (cache, advance) => {
    await backend.put({
      kind: "user",
      version: "v1",
      metadata: { name: "bob" },
      spec: { roles: ["dev"], created: new Date().toISOString() },
    });
    await Bun.sleep(100);
    expect(await cache.user("bob")).toBeDefined();
    advance(120_000); // the snapshot is old; the feed breaks now and brings nothing more
    state.mode = "quiet";
    breakFeed("feed gap");
    await backend.delete("user", "bob");
    expect(await cache.user("bob")).toBeUndefined();
  });
});

test("a request waits at most staleWaitMs for a registry that hangs, then uses the copy", async () => {
  const { backend, controlled, state, breakFeed } = controlledRegistry();
  await withCache(backend, controlled, { staleWaitMs: 100 }, async (cache, advance) => {
    const key = await ensureSigningKey(backend);
    const kid = String(key.spec.public_jwk.kid);
    await Bun.sleep(100);
    expect(await cache.verifyingKey(kid)).toBeDefined();
    advance(120_000);
    state.mode = "hang";
    breakFeed("frozen");
    const t0 = performance.now();
    expect(await cache.verifyingKey(kid)).toBeDefined();
    expect(performance.now() - t0).toBeLessThan(1000);
    const t1 = performance.now();
    expect(await cache.verifyingKey(kid)).toBeDefined(); // the reload still hangs: no second wait
    expect(performance.now() - t1).toBeLessThan(50);
  });
});
