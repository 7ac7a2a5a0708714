// The Redis backend on a real 3-primary Redis Cluster: the whole conformance suite through ioredis Cluster.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import pino from "pino";
import { kubeCluster, recordWatch, runBackendConformance, waitFor } from "../../src/registry/conformance.ts";
import { createBackend, openRedisBackend } from "../../src/registry/index.ts";
import { freePort, type RedisCluster, type RedisNode, startRedisCluster } from "../helpers/redis.ts";

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 0 });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

runBackendConformance("redis cluster", async () =>
  openRedisBackend({ cluster_nodes: cluster.nodes, key_prefix: "conf", sweepMs: 200, replica_acks: 0 }),
);

describe("redis cluster", () => {
  test("every key of a prefix lives in the one slot of its hash tag", async () => {
    const be = openRedisBackend({ cluster_nodes: cluster.nodes, key_prefix: "slot", replica_acks: 0 });
    await be.put(kubeCluster("one"));
    await be.append("audit", { a: 1 });
    const lease = await be.acquireLock("l", "h", 1000);
    const [host, port] = cluster.nodes[0]!.split(":");
    const raw = new Redis({ host, port: Number(port) });
    const slot = await raw.cluster("KEYSLOT", "{slot}");
    const owners = new Set<string>();
    for (const addr of cluster.nodes) {
      const [h, p] = addr.split(":");
      const node = new Redis({ host: h, port: Number(p) });
      const n = (await node.cluster("COUNTKEYSINSLOT", slot)) as number;
      if (n > 0) owners.add(addr);
      node.disconnect();
    }
    raw.disconnect();
    expect(owners.size).toBe(1);
    await be.releaseLock(lease!);
    await be.close();
  });
});

describe("redis cluster unreachable at start", () => {
  test("createBackend says it is waiting for the Cluster, and a shutdown signal stops the wait at once", async () => {
    const lines: { msg: string }[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const ac = new AbortController();
    // Nothing listens there: the Cluster client queues commands until it learns a slot map.
    const pending = createBackend(
      { type: "redis", path: "", cluster_nodes: [`127.0.0.1:${freePort()}`], key_prefix: "down" },
      { log, signal: ac.signal },
    );
    const failed = pending.then(
      () => undefined,
      (err: unknown) => err,
    );
    await waitFor(
      () => lines.some((l) => l.msg.startsWith("waiting for redis at cluster ")),
      10_000,
      "a wait line",
    );
    const t0 = performance.now();
    ac.abort(new Error("shutting down"));
    expect(String(await failed)).toContain("shutting down");
    expect(performance.now() - t0).toBeLessThan(1000);
  }, 60_000);
});

describe("redis cluster failover", () => {
  let ha: RedisCluster;
  beforeAll(async () => {
    ha = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
  }, 60_000);
  afterAll(async () => {
    await ha?.stop();
  });

  test("a role write returns only once a replica of our slot holds it (WAIT routed to the slot's primary)", async () => {
    const be = openRedisBackend({ cluster_nodes: ha.nodes, key_prefix: "dur" });
    const holders = async (hash: string, field: string) => {
      const roles: string[] = [];
      for (const m of ha.members) {
        const node = new Redis({ host: m.host, port: m.port });
        await node.readonly();
        if ((await node.hexists(hash, field).catch(() => 0)) === 1)
          roles.push((await node.role())[0] as string);
        node.disconnect();
      }
      return roles.sort();
    };
    // A fresh cluster's replicas may still be in their first sync: wait until one follows our slot.
    await be.put(kubeCluster("warm-up"));
    for (
      let t = Date.now();
      (await holders("{dur}:r:kube_cluster", "warm-up")).length < 2;
      await Bun.sleep(50)
    )
      if (Date.now() - t > 10_000) throw new Error("no replica followed our slot within 10 s");
    const n = "reviewers";
    await be.put({
      kind: "role",
      version: "v1",
      metadata: { name: n },
      spec: { allow: { kubernetes_groups: ["view"] } },
    });
    // Read every node right after the write returned: the slot's primary and its replica both have it.
    expect(await holders("{dur}:r:role", n)).toEqual(["master", "slave"]);
    await be.close();
  }, 60_000);

  test("when the primary of our slot dies, its replica takes over: writes are refused as unconfirmed until it has a replica again, then resume, and the watcher re-inits", async () => {
    const a = openRedisBackend({ cluster_nodes: ha.nodes, key_prefix: "ha" });
    const b = openRedisBackend({ cluster_nodes: ha.nodes, key_prefix: "ha" });
    await a.put(kubeCluster("before"));
    const rec = recordWatch(b, ["kube_cluster"]);
    await waitFor(() => rec.events.length > 0, 3000, "init");
    // Replication is asynchronous: wait until a replica holds the write too, so the test is about failover, not lag.
    let primary: RedisNode | undefined;
    const deadline0 = Date.now() + 5000;
    for (let holders = 0; holders < 2; ) {
      if (Date.now() > deadline0) throw new Error("the write never reached a replica");
      holders = 0;
      for (const m of ha.members) {
        if (!m.alive()) continue;
        const node = new Redis({ host: m.host, port: m.port });
        await node.readonly();
        const has = await node.hexists("{ha}:r:kube_cluster", "before").catch(() => 0);
        const role = (await node.role())[0];
        node.disconnect();
        if (has === 1) holders++;
        if (has === 1 && role === "master") primary = m;
      }
      if (holders < 2) await Bun.sleep(50);
    }
    expect(primary).toBeDefined();
    await primary!.kill();
    // The promoted replica has no replica of its own: no write can be confirmed, and none is
    // reported done (the durable kinds are every write not made under a lease).
    const outcomes: string[] = [];
    for (const t = Date.now(); outcomes.at(-1) !== "uncertain"; await Bun.sleep(200)) {
      if (Date.now() - t > 20_000) throw new Error(`no write refused as unconfirmed: ${outcomes.join(", ")}`);
      outcomes.push(
        await a.put(kubeCluster("after")).then(
          () => "done",
          (e) => String(e.kind),
        ),
      );
    }
    expect(outcomes).not.toContain("done");
    // The old primary comes back as the new one's replica: writes are confirmed again.
    await primary!.restart();
    let stored = false;
    const deadline = Date.now() + 20_000;
    while (!stored && Date.now() < deadline) {
      stored = await a.put(kubeCluster("after")).then(
        () => true,
        () => false,
      );
      if (!stored) await Bun.sleep(250);
    }
    expect(stored).toBe(true);
    expect(await a.get("kube_cluster", "before")).toBeDefined();
    await waitFor(
      () => rec.events.filter((e) => e.type === "init").length > 1,
      10_000,
      "a fresh init after the failover",
    );
    await waitFor(
      () =>
        rec.events.some(
          (e) =>
            (e.type === "put" && e.resource.metadata.name === "after") ||
            (e.type === "init" && e.resources.some((r) => r.metadata.name === "after")),
        ),
      5000,
      "the write after the failover",
    );
    rec.watcher.close();
    await Promise.all([a.close(), b.close()]);
  }, 60_000);
});
