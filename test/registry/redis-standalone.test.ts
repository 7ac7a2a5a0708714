// The Redis backend against a real standalone redis-server: conformance, outages, gaps, corrupt records.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Redis } from "ioredis";
import pino from "pino";
import { isKind } from "../../src/lib/errors.ts";
import { silentLogger } from "../../src/lib/log.ts";
import {
  expectCorruptRecordsSkipped,
  kubeCluster,
  recordWatch,
  runBackendConformance,
  uniqueName,
  waitFor,
} from "../../src/registry/conformance.ts";
import { createBackend, openRedisBackend, type WatchEvent } from "../../src/registry/index.ts";
import { type RedisStandalone, startRedisStandalone } from "../helpers/redis.ts";

let redis: RedisStandalone;
beforeAll(async () => {
  redis = await startRedisStandalone();
});
afterAll(async () => {
  await redis?.stop();
});

runBackendConformance("redis standalone", async () =>
  openRedisBackend({ url: redis.url, key_prefix: "conf", sweepMs: 200 }),
);

describe("redis backend", () => {
  test("a corrupt stored record is skipped with a warning, never thrown out of get, list or watch", async () => {
    const lines: string[] = [];
    const log = pino({ level: "warn" }, { write: (s: string) => void lines.push(s) });
    const be = openRedisBackend({ url: redis.url, key_prefix: "corrupt", log });
    await be.put(kubeCluster("good"));
    const raw = new Redis(redis.url);
    await raw.hset(
      "{corrupt}:r:kube_cluster",
      "broken",
      "7:{not json",
      "invalid",
      '8:{"kind":"kube_cluster","version":"v1","metadata":{"name":"invalid"},"spec":{"endpoint":"ftp://x"}}',
      "norev",
      "garbage",
    );
    raw.disconnect();
    await expectCorruptRecordsSkipped(be, lines, 2000);
    await be.close();
  });

  test("a watcher that fell behind the trimmed change stream gets a fresh init", async () => {
    const reader = openRedisBackend({ url: redis.url, key_prefix: "gap" });
    const events: WatchEvent[] = [];
    const fixture = join(import.meta.dir, "fixtures", "put-many.ts");
    // While handling init (before its first XREAD), another process writes 300 changes and trims the stream to 2.
    const watcher = reader.watch({ kinds: ["kube_cluster"] }, (e) => {
      events.push(e);
      if (events.length === 1) {
        const r = Bun.spawnSync([process.execPath, fixture, `redis:${redis.url}:gap`, "gap", "300", "2"], {
          stderr: "pipe",
        });
        if (r.exitCode !== 0) throw new Error(r.stderr.toString());
      }
    });
    await waitFor(() => events.length >= 2, 3000, "a second event");
    expect(events.map((e) => e.type)).toEqual(["init", "init"]);
    const second = events[1]!;
    expect(second.type === "init" && second.resources.length).toBe(300);
    watcher.close();
    await reader.close();
  });

  test("calls fail fast with unavailable while redis is down, and the watcher re-inits after it restarts", async () => {
    const be = openRedisBackend({ url: redis.url, key_prefix: "outage" });
    await be.put(kubeCluster("before"));
    const rec = recordWatch(be, ["kube_cluster"]);
    await waitFor(() => rec.events.length === 1, 2000, "init");
    await redis.node.kill();
    const t0 = Date.now();
    let err: unknown;
    await be.ping().catch((e) => (err = e));
    expect(isKind(err, "unavailable")).toBe(true);
    err = undefined;
    await be.put(kubeCluster("during")).catch((e) => (err = e));
    // Refused, or (when the kill raced the send) not known to have happened: never done.
    expect(isKind(err, "unavailable") || isKind(err, "uncertain")).toBe(true);
    expect(Date.now() - t0).toBeLessThan(8000);
    // The watcher reports the outage (calls now fail faster than its blocking read notices).
    await waitFor(() => rec.errors.length > 0, 8000, "the watcher to report the outage");
    await redis.node.restart(); // same port, empty data (persistence is off)
    await waitFor(() => rec.events.filter((e) => e.type === "init").length >= 2, 8000, "init after restart");
    const n = uniqueName("after");
    let stored = false;
    for (let i = 0; i < 50 && !stored; i++) {
      stored = await be.put(kubeCluster(n)).then(
        () => true,
        () => false,
      );
      if (!stored) await Bun.sleep(100);
    }
    await waitFor(
      () => rec.events.some((e) => e.type === "put" && e.resource.metadata.name === n),
      3000,
      "put after restart",
    );
    expect(rec.errors.length).toBeGreaterThan(0);
    rec.watcher.close();
    await be.close();
  }, 60_000);

  test("createBackend waits for an unreachable redis, logging each attempt, until it answers or is aborted", async () => {
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => void lines.push(s) });
    const port = redis.node.port;
    await redis.node.kill();
    const pending = createBackend({ type: "redis", path: "", url: redis.url, key_prefix: "wait" }, { log });
    await waitFor(
      () => lines.filter((l) => l.includes(`waiting for redis at redis://127.0.0.1:${port}`)).length >= 2,
      8000,
      "two wait log lines",
    );
    // The log says why (the socket error), not ioredis's "max retries per request".
    const waits = lines.filter((l) => l.includes("waiting for redis"));
    expect(waits.at(-1)).toContain("ECONNREFUSED");
    expect(waits.at(-1)).not.toContain("max retries");
    await redis.node.restart();
    const be = await pending;
    await be.ping();
    await be.close();

    await redis.node.kill();
    const ac = new AbortController();
    const aborted = createBackend(
      { type: "redis", path: "", url: redis.url, key_prefix: "wait" },
      { log: silentLogger, signal: ac.signal },
    );
    setTimeout(() => ac.abort(new Error("shutting down")), 300);
    await expect(aborted).rejects.toThrow("shutting down");
    await redis.node.restart();
  }, 60_000);
});

describe("redis backend, data loss", () => {
  test("a watcher re-inits when the revision counter goes backwards under an open connection (FLUSHALL)", async () => {
    const be = openRedisBackend({ url: redis.url, key_prefix: "flush" });
    for (let i = 0; i < 5; i++) await be.put(kubeCluster(`old-${i}`));
    const rec = recordWatch(be, ["kube_cluster"]);
    await waitFor(() => rec.events.length === 1, 2000, "init");
    const raw = new Redis(redis.url);
    await raw.flushall();
    raw.disconnect();
    await be.put(kubeCluster("new-0")); // revision 1 again: below the watcher's cursor
    await waitFor(() => rec.events.filter((e) => e.type === "init").length === 2, 3000, "a fresh init");
    const last = rec.events.findLast((e) => e.type === "init");
    expect(last?.type === "init" && last.resources.map((r) => r.metadata.name)).toEqual(["new-0"]);
    rec.watcher.close();
    await be.close();
  });
});
