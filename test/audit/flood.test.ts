// Floods cannot erase the audit trail (issue 11): 110,000 forbidden requests from one user, through
// the real sink into each real registry store, leave every other user's event of the retention
// window in place, and show as aggregated events whose counts add up. The bulk is driven in-process
// (a simulated 15 s at ~7,300 refusals a second, the rate the issue measured); the wiring through a
// real gateway is proved with a smaller flood in audit-trail.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AUDIT_STREAM, type AuditEvent } from "../../src/audit/index.ts";
import { createAuditSink, refusalEvent, requestEvent } from "../../src/gateway/audit/index.ts";
import { AccessRefused } from "../../src/gateway/refusal.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { type Backend, openRedisBackend, openSqliteBackend } from "../../src/registry/index.ts";
import { type RedisStandalone, startRedisStandalone } from "../helpers/redis.ts";

const FLOOD = 110_000;
const SIMULATED_MS = 15_000;
const DAY = 86_400_000;

let redis: RedisStandalone;
beforeAll(async () => {
  redis = await startRedisStandalone();
}, 60_000);
afterAll(async () => {
  await redis?.stop();
});

const identity = (user: string) => ({ user, roles: ["dev"], source: "kubeport" as const, issuer: "test" });

/** A forbidden request's event, built the way the gateway builds it. */
function forbidden(user: string, cluster: string, i: number) {
  const req = new Request(`https://gw/v1/clusters/${cluster}/api/v1/namespaces/default/pods/p${i}`);
  return refusalEvent(
    {
      req,
      started: performance.now(),
      identity: identity(user),
      cluster,
      path: `/api/v1/namespaces/default/pods/p${i}`,
      addr: "10.9.9.9:40000",
    },
    new AccessRefused(`no role of user "${user}" allows cluster "${cluster}"`, "no_role_allows"),
    403,
    `no role of user "${user}" allows cluster "${cluster}"`,
  );
}

/** An ordinary answered request of someone else. */
function ok(user: string, i: number): AuditEvent {
  return requestEvent(
    {
      req: new Request(`https://gw/v1/clusters/dev-a/api/v1/namespaces/default/pods?i=${i}`),
      started: performance.now(),
      identity: identity(user),
      cluster: "dev-a",
      path: "/api/v1/namespaces/default/pods",
    },
    200,
    123,
  );
}

async function readAll(backend: Backend): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for (let after: string | undefined; ; ) {
    const page = await backend.readStream(AUDIT_STREAM, { ...(after ? { after } : {}), limit: 1000 });
    out.push(...page.map((r) => r.entry as AuditEvent));
    if (page.length < 1000) return out;
    after = page.at(-1)!.id;
  }
}

const stores: [string, () => Backend][] = [
  ["sqlite", () => openSqliteBackend({ path: ":memory:" })],
  ["redis", () => openRedisBackend({ url: redis.url, key_prefix: `flood-${crypto.randomUUID()}` })],
];

describe.each(stores)("audit flood (%s registry)", (_, open) => {
  test("110,000 forbidden requests of one user keep every other event; the flood is aggregated and its counts add up", async () => {
    const backend = open();
    let clock = 0;
    const sink = createAuditSink({
      backend,
      log: silentLogger,
      // A small cap, so the flood would overflow it if it were one event per request.
      retention: { maxAgeMs: 30 * DAY, maxEntries: 1000 },
      now: () => clock,
    });
    try {
      const others: string[] = [];
      for (let i = 0; i < 300; i++) {
        // 10 ms apart: one user's refusals below are 1.5 s apart, each an event of its own.
        clock = -10_000 + i * 10;
        const ev = ok(`user-${i % 30}`, i);
        others.push(ev.uid);
        sink.emit(ev);
        // A few of their own refusals, which nobody may erase either.
        if (i % 50 === 0) {
          const r = forbidden(`user-${i % 30}`, "prod-a", i);
          others.push(r.ev.uid);
          sink.refuse(r.key, r.owner, r.ev);
        }
      }
      await sink.flush();
      for (let i = 0; i < FLOOD; i++) {
        clock = (i * SIMULATED_MS) / FLOOD;
        const r = forbidden("mallory", "prod-a", i);
        sink.refuse(r.key, r.owner, r.ev);
        // Let the sink write as it goes (its timer), without closing the open window as flush would.
        if (i % 5000 === 0) await Bun.sleep(1);
      }
      await sink.flush();
      const all = await readAll(backend);
      const kept = new Set(all.map((e) => e.uid));
      expect(others.filter((uid) => !kept.has(uid))).toEqual([]);
      const flood = all.filter((e) => e.user === "mallory");
      // One event per second of the flood (its windows are a second long), each with its count.
      expect(flood.length).toBeLessThanOrEqual(SIMULATED_MS / 1000 + 2);
      expect(flood.every((e) => e.event === "auth" && e.code === "T3007W" && (e.count ?? 0) >= 1)).toBe(true);
      expect(flood.reduce((n, e) => n + (e.count ?? 0), 0)).toBe(FLOOD);
      expect(sink.dropped()).toBe(0);
    } finally {
      await sink.close();
      await backend.close();
    }
  }, 120_000);

  test("a flood aggregation cannot fold (a new cluster name each request) loses only its own events at the cap", async () => {
    const backend = open();
    let clock = 0;
    const sink = createAuditSink({
      backend,
      log: silentLogger,
      retention: { maxAgeMs: 30 * DAY, maxEntries: 1000 },
      now: () => clock,
    });
    try {
      const others: string[] = [];
      for (let i = 0; i < 200; i++) {
        const ev = ok(`user-${i % 20}`, i);
        others.push(ev.uid);
        sink.emit(ev);
      }
      for (let i = 0; i < 5000; i++) {
        clock = i;
        const r = forbidden("mallory", `c-${i}`, i);
        sink.refuse(r.key, r.owner, r.ev);
        // Someone else keeps working during the flood.
        if (i % 100 === 0) {
          const ev = ok("carol", i);
          others.push(ev.uid);
          sink.emit(ev);
        }
        if (i % 500 === 0) await sink.flush();
      }
      await sink.flush();
      const all = await readAll(backend);
      expect(all.length).toBeLessThanOrEqual(1000);
      const kept = new Set(all.map((e) => e.uid));
      expect(others.filter((uid) => !kept.has(uid))).toEqual([]);
      expect(all.filter((e) => e.user === "mallory").length).toBeGreaterThan(0);
    } finally {
      await sink.close();
      await backend.close();
    }
  }, 120_000);
});
