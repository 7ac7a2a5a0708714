// The Redis backend through Sentinel: put/get/watch/locks via the master Sentinel names.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { silentLogger } from "../../src/lib/log.ts";
import { kubeCluster, recordWatch, uniqueName, waitFor } from "../../src/registry/conformance.ts";
import { type Backend, openRedisBackend } from "../../src/registry/index.ts";
import { createRedisClient } from "../../src/registry/redis/client.ts";
import { type RedisSentinel, startRedisSentinel } from "../helpers/redis.ts";

let sentinel: RedisSentinel;
let a: Backend;
let b: Backend;
beforeAll(async () => {
  sentinel = await startRedisSentinel({ replicas: 1, sentinels: 3 });
  a = openRedisBackend({ sentinels: sentinel.sentinels, name: sentinel.name, key_prefix: "sent" });
  b = openRedisBackend({ sentinels: sentinel.sentinels, name: sentinel.name, key_prefix: "sent" });
}, 60_000);
afterAll(async () => {
  await a?.close();
  await b?.close();
  await sentinel?.stop();
});

describe("redis via sentinel", () => {
  test("put, get, list and a watcher on another instance work through Sentinel", async () => {
    const rec = recordWatch(b, ["kube_cluster"]);
    await waitFor(() => rec.events.length > 0, 3000, "init");
    const n = uniqueName("s");
    const stored = await a.put(kubeCluster(n));
    expect((await b.get("kube_cluster", n))?.metadata.revision).toBe(stored.metadata.revision!);
    expect((await b.list("kube_cluster", { prefix: n })).length).toBe(1);
    await waitFor(
      () => rec.events.some((e) => e.type === "put" && e.resource.metadata.name === n),
      1000,
      "put event",
    );
    await a.delete("kube_cluster", n);
    await waitFor(() => rec.events.some((e) => e.type === "delete" && e.name === n), 1000, "delete event");
    rec.watcher.close();
  });

  test("locks and fenced writes work through Sentinel", async () => {
    const lock = uniqueName("lock");
    const lease = await a.acquireLock(lock, "one", 5000);
    expect(await b.acquireLock(lock, "two", 5000)).toBeUndefined();
    await a.put(kubeCluster(uniqueName("f")), { fence: lease! });
    await a.releaseLock(lease!);
    const next = await b.acquireLock(lock, "two", 5000);
    expect(next!.token).toBe(lease!.token + 1);
    await expect(a.put(kubeCluster(uniqueName("f")), { fence: lease! })).rejects.toMatchObject({
      kind: "fenced",
    });
    await b.releaseLock(next!);
  });
});

test("a reconnect cut off while it asks a Sentinel for the master connects again (ioredis alone ends the client for good)", async () => {
  // ioredis's failover detector disconnects the connector on +switch-master; when that lands while a
  // reconnect is resolving the master, the connect attempt fails with "Connection is closed." and
  // ioredis ends the client: every later call fails the same way (a gateway's /readyz stayed 503
  // after a Sentinel failover under load). The sentinels are stopped to hold the resolve open.
  const client = createRedisClient(
    { sentinels: sentinel.sentinels, name: sentinel.name },
    { log: silentLogger },
  ) as Redis;
  try {
    expect(await client.ping()).toBe("PONG");
    for (const n of sentinel.sentinelNodes) process.kill(n.pid(), "SIGSTOP");
    try {
      client.disconnect(true);
      await waitFor(() => client.status === "connecting", 10_000, "a reconnect asking the sentinels");
      client.disconnect(true); // what the failover detector does on +switch-master
    } finally {
      for (const n of sentinel.sentinelNodes) process.kill(n.pid(), "SIGCONT");
    }
    let answered = false;
    const deadline = Date.now() + 30_000;
    while (!answered && Date.now() < deadline) {
      answered = (await client.ping().catch(() => "")) === "PONG";
      if (!answered) await Bun.sleep(100);
    }
    expect({ answered, status: client.status }).toEqual({ answered: true, status: "ready" });
  } finally {
    client.disconnect();
  }
}, 60_000);

describe("writes that a failover must not lose", () => {
  const user = (name: string) => ({
    kind: "user" as const,
    version: "v1" as const,
    metadata: { name },
    spec: { roles: ["dev"], created: new Date().toISOString() },
  });
  const open = () =>
    openRedisBackend({
      sentinels: sentinel.sentinels,
      name: sentinel.name,
      key_prefix: "sent",
      replicaWaitMs: 300,
    });

  test("a user write returns once the replica has it; with the replica frozen it is reported uncertain (never done), and holds up nothing else", async () => {
    const be = open();
    try {
      const n = uniqueName("u");
      await be.put(user(n));
      // WAIT returned: the replica holds it already, readable there without any delay.
      const replica = new Redis({ port: sentinel.replicas[0]!.port, lazyConnect: true });
      expect(await replica.hexists("{sent}:r:user", n)).toBe(1);
      replica.disconnect();
      // Discovery's writes are made under a lease (taken while the replica answers) and never wait.
      const lease = (await be.acquireLock(uniqueName("lock"), "one", 20_000))!;

      process.kill(sentinel.replicas[0]!.pid(), "SIGSTOP");
      try {
        const t0 = performance.now();
        const unconfirmed = uniqueName("u");
        const waiting = be.put(user(unconfirmed)).then(
          () => "done",
          (err) => err,
        );
        // The write waiting for the replica holds up only itself: reads and other writes go on.
        await Bun.sleep(20);
        const t2 = performance.now();
        await be.get("user", "nobody");
        await be.put(kubeCluster(uniqueName("k")), { fence: lease });
        expect(performance.now() - t2).toBeLessThan(150);
        const outcome = await waiting;
        expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
        expect(outcome).toMatchObject({ kind: "uncertain" });
        expect((outcome as Error).message).toContain(`user "${unconfirmed}"`);
        expect((outcome as Error).message).toContain("no replica acknowledged it within 300 ms");
        // A lease cannot be taken or renewed without the replica either.
        await expect(be.renewLock(lease, 20_000)).rejects.toMatchObject({ kind: "uncertain" });
        await expect(be.acquireLock(uniqueName("lock"), "one", 3000)).rejects.toMatchObject({
          kind: "uncertain",
        });
      } finally {
        process.kill(sentinel.replicas[0]!.pid(), "SIGCONT");
      }
    } finally {
      await be.close();
    }
  }, 60_000);
});

describe("redis via sentinel failover", () => {
  test("after the master dies, writes are refused as unconfirmed until the promoted replica has a replica again, then resume; the watcher re-inits", async () => {
    const before = uniqueName("before");
    await a.put(kubeCluster(before));
    const rec = recordWatch(b, ["kube_cluster"]);
    await waitFor(() => rec.events.length > 0, 3000, "init");
    expect(sentinel.replicas.length).toBeGreaterThan(0);
    // Replication is asynchronous: wait until the replica holds the write, so the test is about failover, not lag.
    const replica = new Redis({ host: sentinel.replicas[0]!.host, port: sentinel.replicas[0]!.port });
    const deadline0 = Date.now() + 5000;
    while ((await replica.hexists("{sent}:r:kube_cluster", before)) !== 1) {
      if (Date.now() > deadline0)
        throw new Error(`replica never got ${before}: ${await replica.info("replication")}`);
      await Bun.sleep(50);
    }
    replica.disconnect();
    await sentinel.master.kill();
    const after = uniqueName("after");
    // Promoted, it has no replica of its own: no write is confirmed, none is reported done.
    const outcomes: string[] = [];
    for (const t = Date.now(); outcomes.at(-1) !== "uncertain"; await Bun.sleep(200)) {
      if (Date.now() - t > 20_000) throw new Error(`no write refused as unconfirmed: ${outcomes.join(", ")}`);
      outcomes.push(
        await a.put(kubeCluster(after)).then(
          () => "done",
          (e) => String(e.kind),
        ),
      );
    }
    expect(outcomes).not.toContain("done");
    // The Sentinels make the old master, restarted, a replica of the new one.
    await sentinel.master.restart();
    const deadline = Date.now() + 20_000;
    let stored = false;
    while (!stored && Date.now() < deadline) {
      stored = await a.put(kubeCluster(after)).then(
        () => true,
        () => false,
      );
      if (!stored) await Bun.sleep(200);
    }
    expect(stored).toBe(true);
    expect(await a.get("kube_cluster", before)).toBeDefined();
    await waitFor(
      () => rec.events.filter((e) => e.type === "init").length > 1,
      10_000,
      "a fresh init after the failover",
    );
    const seen = new Set<string>();
    const follow = () => {
      for (const e of rec.events) {
        if (e.type === "init") for (const r of e.resources) seen.add(r.metadata.name);
        if (e.type === "put") seen.add(e.resource.metadata.name);
      }
      return seen.has(before) && seen.has(after);
    };
    await waitFor(follow, 5000, "the watcher to show both writes");
    rec.watcher.close();
  }, 60_000);
});
