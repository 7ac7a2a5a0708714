// A Redis outage: the gateway keeps serving its cached clusters, reports degraded readiness, recovers.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { openRedisBackend } from "../../src/registry/index.ts";
import { type RedisStandalone, startRedisStandalone } from "../helpers/redis.ts";
import { cluster, startTestGateway, startUpstream, type TestGateway, type Upstream } from "./fixture.ts";

let redis: RedisStandalone;
let up: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  redis = await startRedisStandalone();
  up = await startUpstream();
  const backend = openRedisBackend({ url: redis.url, key_prefix: "gwtest" });
  await backend.put(cluster("dev1", up.url, up.caPem));
  gw = await startTestGateway({ backend });
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await up?.close();
  await redis?.stop();
});

const until = async (pred: () => Promise<boolean>, ms: number) => {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (await pred()) return true;
    await Bun.sleep(50);
  }
  return false;
};

test("serves from its cache while Redis is down, says degraded, and recovers", async () => {
  expect((await gw.fetch("/readyz")).status).toBe(200);
  await redis.node.kill();
  const degraded = await gw.fetch("/readyz");
  expect([degraded.status, await degraded.text()]).toEqual([503, "degraded: registry unavailable"]);
  expect((await gw.fetch("/healthz")).status).toBe(200);
  for (let i = 0; i < 5; i++) {
    expect((await gw.fetch("/v1/clusters/dev1/version", { token: "alice-token" })).status).toBe(200);
    await Bun.sleep(200);
  }
  await redis.node.restart();
  // The restarted Redis is empty (no persistence): the next snapshot replaces the cache.
  await gw.backend.put(cluster("dev2", up.url, up.caPem));
  expect(await until(async () => (await gw.fetch("/readyz")).status === 200, 10_000)).toBe(true);
  expect(
    await until(
      async () => (await gw.fetch("/v1/clusters/dev2/version", { token: "alice-token" })).status === 200,
      10_000,
    ),
  ).toBe(true);
}, 60_000);
