// Issue 17 §1 and its minor items: the leader lock's own rules. The holder stops acting at its
// lease's local deadline whatever a hung store does; an acquisition or renewal that is not
// confirmed is not held; an acquisition whose answer was lost is neither replayed nor left to
// block the lock for a TTL (its own session takes it back at once).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { uncertain } from "../../src/lib/errors.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { uniqueName, waitFor } from "../../src/registry/conformance.ts";
import {
  type Backend,
  createLeaderElector,
  type Lease,
  openRedisBackend,
  openSqliteBackend,
} from "../../src/registry/index.ts";
import { type RedisStandalone, startRedisStandalone } from "../helpers/redis.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";

const dir = mkdtempSync(join(tmpdir(), "kubeport-lock-"));
let store: Backend;
beforeAll(() => {
  store = openSqliteBackend({ path: join(dir, "locks.db") });
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An elector over `backend` recording what happened, in order. */
function elector(backend: Backend, ttlMs: number) {
  const events: { what: "elected" | "lost"; at: number; lease?: Lease }[] = [];
  const el = createLeaderElector({
    backend,
    lock: uniqueName("lock"),
    holder: "one",
    ttlMs,
    log: silentLogger,
    onElected: (lease) => void events.push({ what: "elected", at: performance.now(), lease }),
    onLost: () => void events.push({ what: "lost", at: performance.now() }),
  });
  return { el, events, elected: () => events.filter((e) => e.what === "elected") };
}

describe("leader elector", () => {
  test("stops acting at its lease's local deadline while a renewal hangs (lock_ttl below the 5 s command timeout)", async () => {
    const ttl = 900;
    let hang = false;
    const hung: Backend = {
      ...store,
      renewLock: (lease, t) => (hang ? new Promise<never>(() => {}) : store.renewLock(lease, t)),
    };
    const { el, events, elected } = elector(hung, ttl);
    el.start();
    await waitFor(() => elected().length === 1, 5000, "elected");
    hang = true;
    const lease = elected()[0]!.lease!;
    // The renewal never answers; the deadline (sent + ttl - margin) ends the leadership anyway.
    await waitFor(() => events.some((e) => e.what === "lost"), 5000, "onLost at the deadline");
    const lost = events.find((e) => e.what === "lost")!;
    // The deadline ended it (timers may fire a hair early), not an answer of the hung renewal.
    expect(lost.at).toBeGreaterThanOrEqual(lease.deadline - 20);
    expect(lease.deadline - elected()[0]!.at).toBeLessThan(ttl);
    expect(el.current()).toBeUndefined();
    hang = false;
    await el.stop();
  }, 60_000);

  test("an acquisition or renewal the store cannot confirm is not held", async () => {
    let refuse = 2;
    let refuseRenew = false;
    const unsure: Backend = {
      ...store,
      acquireLock: async (...args) => {
        const got = await store.acquireLock(...args);
        if (got && refuse-- > 0) throw uncertain("no replica acknowledged it");
        return got;
      },
      renewLock: async (lease, t) => {
        const r = await store.renewLock(lease, t);
        if (refuseRenew) throw uncertain("no replica acknowledged it");
        return r;
      },
    };
    const { el, events, elected } = elector(unsure, 600);
    el.start();
    await waitFor(() => elected().length === 1, 5000, "elected once an acquisition is confirmed");
    expect(refuse).toBe(-1);
    refuseRenew = true;
    await waitFor(() => events.some((e) => e.what === "lost"), 2000, "lost on an unconfirmed renewal");
    expect(el.current()).toBeUndefined();
    refuseRenew = false;
    // Its own lease (same session) is taken back at once, with a bigger token.
    await waitFor(() => elected().length === 2, 2000, "elected again");
    expect(elected()[1]!.lease!.token).toBeGreaterThan(elected()[0]!.lease!.token);
    await el.stop();
  }, 60_000);

  test("an acquisition whose answer was lost (but which took the lock) is taken back at once, not after the TTL", async () => {
    const ttl = 9000;
    let lose = true;
    const lossy: Backend = {
      ...store,
      acquireLock: async (...args) => {
        const got = await store.acquireLock(...args);
        if (got && lose) {
          lose = false;
          throw uncertain("connection closed before the answer");
        }
        return got;
      },
    };
    const { el, elected } = elector(lossy, ttl);
    const t0 = performance.now();
    el.start();
    await waitFor(() => elected().length === 1, ttl + 2000, "elected");
    // One retry period (ttl/3) after the failed attempt, far from the TTL the lost lease would hold.
    expect(performance.now() - t0).toBeLessThan(ttl / 2);
    await el.stop();
  }, 60_000);
});

describe("redis: lock commands are never replayed", () => {
  let redis: RedisStandalone;
  let proxy: TcpProxy;
  beforeAll(async () => {
    redis = await startRedisStandalone();
    proxy = await startTcpProxy(redis.node.port);
  });
  afterAll(async () => {
    proxy?.stop();
    await redis?.stop();
  });

  test("an acquisition whose answer is lost is reported uncertain (not 'held by another'), runs once, and its session takes the lock back at once", async () => {
    const be = openRedisBackend({
      url: `redis://127.0.0.1:${proxy.port}`,
      key_prefix: "replay",
      sweepMs: 3_600_000,
    });
    const raw = new Redis({ port: redis.node.port });
    try {
      await be.ping();
      // Opens the lock connection, so the cut below hits the acquisition's own answer.
      const warm = await be.acquireLock(uniqueName("warm"), "one", 5000);
      await be.releaseLock(warm!);
      const lock = uniqueName("lost-answer");
      proxy.dropNextReply();
      const outcome = await be.acquireLock(lock, "one", 10_000, "session-1").then(
        (lease) => ({ lease }),
        (err) => ({ kind: err.kind }),
      );
      expect(outcome).toEqual({ kind: "uncertain" });
      // It ran once, and nothing sends it again after the reconnect.
      await Bun.sleep(1000);
      expect(await raw.get(`{replay}:locktok:${lock}`)).toBe("1");
      expect(await raw.get(`{replay}:lock:${lock}`)).toBe("1|one|session-1");
      const again = await be.acquireLock(lock, "one", 10_000, "session-1");
      expect(again?.token).toBe(2);
      expect(await be.acquireLock(lock, "two", 10_000)).toBeUndefined();
    } finally {
      raw.disconnect();
      await be.close();
    }
  }, 60_000);
});
