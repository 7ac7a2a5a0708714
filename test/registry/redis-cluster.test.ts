// The Redis backend on a real 3-primary Redis Cluster: the whole conformance suite through ioredis Cluster.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { kubeCluster, runBackendConformance } from "../../src/registry/conformance.ts";
import { openRedisBackend } from "../../src/registry/index.ts";
import { type RedisCluster, startRedisCluster } from "../helpers/redis.ts";

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 0 });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

runBackendConformance("redis cluster", async () =>
  openRedisBackend({ cluster_nodes: cluster.nodes, key_prefix: "conf", sweepMs: 200 }),
);

describe("redis cluster", () => {
  test("every key of a prefix lives in the one slot of its hash tag", async () => {
    const be = openRedisBackend({ cluster_nodes: cluster.nodes, key_prefix: "slot" });
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
