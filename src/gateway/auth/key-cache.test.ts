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

test("unknown kids within one window share one registry read, taken when the window is over", async () => {
  const { backend, counted, calls } = countingBackend();
  await withCache(backend, counted, { missReloadMs: 200 }, async (cache) => {
    await Bun.sleep(100); // the feed's first snapshot (empty)
    const key = await ensureSigningKey(backend);
    const before = calls.list;
    expect(await cache.verifyingKey(String(key.spec.public_jwk.kid))).toBeDefined();
    expect(calls.list).toBe(before + 1);
    // Twenty random kids at once (the clock does not move: the window is waited out in real time).
    const random = await Promise.all(Array.from({ length: 20 }, (_, i) => cache.verifyingKey(`random-${i}`)));
    expect(random.every((k) => k === undefined)).toBe(true);
    expect(calls.list).toBe(before + 2);
    expect(await cache.verifyingKey("random-again")).toBeUndefined();
    expect(calls.list).toBe(before + 3);
  });
});

test("a key rotated moments after another miss is accepted: the miss waits for the next read instead of refusing", async () => {
  // The flaky `two gateways … verify each other's tokens` showed it: a gateway whose change feed has
  // not brought the new key yet, with a miss reload spent moments before, refused the new key's tokens.
  const { backend, counted, calls } = countingBackend();
  await withCache(backend, counted, { missReloadMs: 300 }, async (cache) => {
    await Bun.sleep(100);
    const first = await ensureSigningKey(backend);
    expect(await cache.verifyingKey(String(first.spec.public_jwk.kid))).toBeDefined();
    expect(await cache.verifyingKey("someone-elses-kid")).toBeUndefined(); // spends the window
    const { active: rotated } = await rotateSigningKey(backend);
    const before = calls.list;
    // The clock has not moved: the window is not over, and the feed (10 s) has not delivered the key.
    expect(await cache.verifyingKey(String(rotated.spec.public_jwk.kid))).toBeDefined();
    expect(calls.list).toBe(before + 1);
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
