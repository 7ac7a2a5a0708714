// Two gateways on one Redis registry (a real redis-server): one signing key from a race, tokens valid on
// both, a rotation or a user deletion on one seen by the other, audit written by one read by the other.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lastEntries } from "../../src/cli/commands/audit.ts";
import {
  createAuditSink,
  createAuthenticator,
  ensureSigningKey,
  issueUserToken,
  rotateSigningKey,
} from "../../src/gateway/index.ts";
import { isKind } from "../../src/lib/errors.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { type Backend, openRedisBackend } from "../../src/registry/index.ts";
import { type RedisStandalone, startRedisStandalone } from "../helpers/redis.ts";

const ISSUER = "https://kubeport.ha.test";
let redis: RedisStandalone;
let a: Backend;
let b: Backend;

beforeAll(async () => {
  redis = await startRedisStandalone();
  const prefix = `auth-${process.pid}`;
  a = openRedisBackend({ url: redis.url, key_prefix: prefix });
  b = openRedisBackend({ url: redis.url, key_prefix: prefix });
  await Promise.all([a.ping(), b.ping()]);
}, 60_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await redis?.stop();
});

/** Retries `fn` until it stops throwing (feed propagation), at most `ms`. */
async function eventually<T>(fn: () => Promise<T>, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await Bun.sleep(25);
    }
  }
}

describe("two gateways on one redis registry", () => {
  test("share one key, verify each other's tokens, follow rotations and user deletions", async () => {
    const keys = await Promise.all([
      ensureSigningKey(a),
      ensureSigningKey(b),
      ensureSigningKey(a),
      ensureSigningKey(b),
    ]);
    expect(new Set(keys.map((k) => k.spec.public_jwk.kid)).size).toBe(1);
    expect((await a.list("signing_key")).length).toBe(1);

    await a.put({
      kind: "user",
      version: "v1",
      metadata: { name: "erin" },
      spec: { roles: ["dev"], created: new Date().toISOString() },
    });
    const authA = createAuthenticator({ backend: a, issuer: ISSUER, log: silentLogger });
    const authB = createAuthenticator({ backend: b, issuer: ISSUER, log: silentLogger });
    try {
      const token = await issueUserToken(a, { user: "erin", issuer: ISSUER });
      expect((await eventually(() => authB.authenticate(`Bearer ${token}`))).user).toBe("erin");

      await rotateSigningKey(b, { retireAfterMs: 60_000 });
      const rotated = await issueUserToken(b, { user: "erin", issuer: ISSUER });
      expect((await authA.authenticate(`Bearer ${rotated}`)).user).toBe("erin");
      expect((await authA.authenticate(`Bearer ${token}`)).user).toBe("erin"); // retired, not expired

      await b.delete("user", "erin");
      const refused = await eventually(async () => {
        const err = await authA.authenticate(`Bearer ${rotated}`).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (!isKind(err, "unauthenticated")) throw new Error("still accepted");
        return err;
      });
      expect(refused.message).toMatch(/no longer exists/);
    } finally {
      authA.close();
      authB.close();
    }
  }, 60_000);

  test("audit written through one gateway is read back through the other (redis stream ids)", async () => {
    const sink = createAuditSink({ backend: a, log: silentLogger, flushMs: 20 });
    for (let i = 0; i < 30; i++) {
      sink.emit({
        event: "kube.request",
        code: "T3009I",
        time: new Date().toISOString(),
        uid: `u${i}`,
        user: "erin",
        roles: ["dev"],
        kubernetes_cluster: "c",
        verb: "GET",
        request_path: "/api/v1/pods",
        response_code: 200,
        latency_ms: i,
        bytes_out: 1,
      });
    }
    await sink.close();
    const { entries, lastId } = await lastEntries(b, 5);
    expect(entries.map((e) => (e.entry as { latency_ms: number }).latency_ms)).toEqual([25, 26, 27, 28, 29]);
    expect(lastId).toBe(entries.at(-1)!.id);
  });
});
