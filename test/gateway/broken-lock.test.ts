// A lock that cannot be read locks everyone (issue 10 §1's fail-closed rule, applied to locks): the
// registry hands it on instead of skipping it, and the gateway refuses every request, naming it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Redis } from "ioredis";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import { openRedisBackend } from "../../src/registry/index.ts";
import { writeRawRedis, writeRawSqlite } from "../helpers/raw-registry.ts";
import { startRedisStandalone } from "../helpers/redis.ts";
import { cluster, startTestGateway, startUpstream, type TestGateway, type Upstream } from "./fixture.ts";

let upstream: Upstream;
let gw: TestGateway;
let token = "";

/** A lock whose target was misspelled: `users` for `user`. Skipped, it would lock no one. */
const TYPO_LOCK = {
  kind: "lock",
  version: "v1",
  metadata: { name: "lock-alice" },
  spec: { target: { users: "alice" }, message: "incident 42", created: new Date().toISOString() },
};

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway({
    realAuth: true,
    clusters: [cluster("prod", upstream.url, upstream.caPem, { env: "prod" })],
    resources: [
      {
        kind: "role",
        version: "v1",
        metadata: { name: "prod" },
        spec: { allow: { kubernetes_labels: { env: "prod" }, kubernetes_groups: ["ops"] } },
      } as Resource,
      {
        kind: "user",
        version: "v1",
        metadata: { name: "alice" },
        spec: { roles: ["prod"], created: new Date().toISOString() },
      } as Resource,
    ],
    beforeStart: (dir) => {
      writeRawSqlite(join(dir, "registry.db"), "lock", "lock-alice", JSON.stringify(TYPO_LOCK));
    },
  });
  token = await issueUserToken(gw.backend, {
    user: "alice",
    issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

test("an unreadable stored lock refuses everyone with its name and problem; nothing reaches upstream", async () => {
  const before = upstream.proxied().length;
  const res = await gw.fetch("/v1/clusters/prod/api/v1/namespaces/default/pods", { token });
  expect(res.status).toBe(403);
  const { message } = (await res.json()) as { message: string };
  expect(message).toContain('lock "lock-alice" cannot be read');
  expect(message).toContain("spec.target.users");
  expect(message).toContain("locks everyone");
  expect(upstream.proxied().length).toBe(before);
});

test("the Redis registry hands an unreadable lock on too (not even JSON)", async () => {
  const redis = await startRedisStandalone();
  const raw = new Redis(redis.url);
  const backend = openRedisBackend({ url: redis.url, key_prefix: "brokenlock" });
  try {
    await writeRawRedis(raw, "brokenlock", "lock", "garbled", "{not json");
    expect((await backend.list("lock")).map((r) => r.metadata.name)).toEqual(["garbled"]);
  } finally {
    await backend.close();
    raw.disconnect();
    await redis.stop();
  }
}, 60_000);
