// The key cache: finds keys the feed has not delivered yet, and random kids cannot hammer the registry.
import { expect, test } from "bun:test";
import { silentLogger } from "../../lib/log.ts";
import { type Backend, openSqliteBackend } from "../../registry/index.ts";
import { createKeyCache } from "./key-cache.ts";
import { ensureSigningKey, rotateSigningKey } from "./signing-keys.ts";

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
  let now = Date.now();
  const cache = createKeyCache({
    backend: counted,
    clock: { now: () => now },
    log: silentLogger,
    missReloadMs: 1000,
  });
  try {
    await Bun.sleep(100); // the feed's first snapshot (empty)
    const key = await ensureSigningKey(backend);
    const before = calls.list;
    expect(await cache.verifyingKey(String(key.spec.public_jwk.kid))).toBeDefined();
    expect(calls.list).toBe(before + 1);
    expect(await cache.verifyingKey("random-1")).toBeUndefined();
    expect(await cache.verifyingKey("random-2")).toBeUndefined();
    expect(calls.list).toBe(before + 1);
    now += 1000;
    expect(await cache.verifyingKey("random-3")).toBeUndefined();
    expect(calls.list).toBe(before + 2);
  } finally {
    cache.close();
    await backend.close();
  }
});

test("a retired key stops verifying at its expiry even before the registry sweeps it", async () => {
  const backend = openSqliteBackend({ path: ":memory:", pollMs: 20 });
  let now = Date.now();
  const cache = createKeyCache({ backend, clock: { now: () => now }, log: silentLogger });
  try {
    const old = await ensureSigningKey(backend);
    await rotateSigningKey(backend, { retireAfterMs: 60_000 });
    await Bun.sleep(100);
    const kid = String(old.spec.public_jwk.kid);
    expect(await cache.verifyingKey(kid)).toBeDefined();
    now += 61_000;
    expect(await cache.verifyingKey(kid)).toBeUndefined();
  } finally {
    cache.close();
    await backend.close();
  }
});
