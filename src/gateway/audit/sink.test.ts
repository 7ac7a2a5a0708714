// The audit sink: events reach the registry stream in order, batched, and a dead registry only drops.
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { Registry } from "prom-client";
import { AUDIT_STREAM, type AuditEvent, type KubeRequestEvent } from "../../audit/index.ts";
import { unavailable } from "../../lib/errors.ts";
import { silentLogger } from "../../lib/log.ts";
import { type Backend, openSqliteBackend } from "../../registry/index.ts";
import { createAuditSink } from "./sink.ts";

type RequestAuditEvent = KubeRequestEvent;
const req = (i: number, user = "alice"): KubeRequestEvent => ({
  event: "kube.request",
  code: "T3009I",
  time: new Date(0).toISOString(),
  uid: `u${i}`,
  user,
  roles: ["dev"],
  kubernetes_cluster: "c1",
  verb: "GET",
  kube_verb: "list",
  request_path: "/api/v1/namespaces/default/pods",
  resource_kind: "pods",
  resource_namespace: "default",
  response_code: 200,
  latency_ms: i,
  bytes_out: 10,
});

describe("createAuditSink", () => {
  test("writes request and session events to the audit stream in order, batched", async () => {
    const backend = openSqliteBackend({ path: ":memory:" });
    let appends = 0;
    const counting: Backend = {
      ...backend,
      append: (s, e) => {
        appends++;
        return backend.append(s, e);
      },
      appendMany: (s, es, o) => {
        appends++;
        return backend.appendMany(s, es, o);
      },
    };
    const sink = createAuditSink({ backend: counting, log: silentLogger, flushMs: 50 });
    for (let i = 0; i < 5; i++) sink.emit(req(i));
    sink.emit({
      event: "session.start",
      code: "T2000I",
      time: new Date(0).toISOString(),
      uid: "s",
      sid: "0190c0de-0000-7000-8000-000000000000",
      ei: 0,
      user: "alice",
      kubernetes_cluster: "c1",
      kubernetes_pod_namespace: "default",
      kubernetes_pod_name: "p",
      session_type: "exec",
      initial_command: ["sh"],
      interactive: false,
      session_recording: "off",
    });
    expect(appends).toBe(0); // nothing on the request path
    await Bun.sleep(150);
    const rows = await backend.readStream(AUDIT_STREAM);
    expect(appends).toBe(1); // one transaction for the six
    expect(rows.map((r) => (r.entry as AuditEvent).event)).toEqual([
      "kube.request",
      "kube.request",
      "kube.request",
      "kube.request",
      "kube.request",
      "session.start",
    ]);
    expect(rows.map((r) => (r.entry as { latency_ms?: number }).latency_ms).slice(0, 5)).toEqual([
      0, 1, 2, 3, 4,
    ]);
    await sink.close();
    await backend.close();
  });

  test("logs every event as one line on the audit child logger", async () => {
    const lines: string[] = [];
    const log = pino({ base: undefined }, { write: (s: string) => lines.push(s) });
    const backend = openSqliteBackend({ path: ":memory:" });
    const sink = createAuditSink({ backend, log, flushMs: 1000 });
    sink.emit(req(7));
    const line = JSON.parse(lines[0]!);
    expect(line.component).toBe("audit");
    expect(line.audit).toMatchObject({
      event: "kube.request",
      user: "alice",
      kube_verb: "list",
      latency_ms: 7,
    });
    expect(line.msg).toBe("kube.request");
    await sink.close();
    await backend.close();
  });

  test("a registry that is down never throws into the caller; events are dropped and counted", async () => {
    const backend = openSqliteBackend({ path: ":memory:" });
    let down = true;
    const flaky: Backend = {
      ...backend,
      append: async (s, e) => {
        if (down) throw unavailable("registry down");
        return backend.append(s, e);
      },
      appendMany: async (s, es, o) => {
        if (down) throw unavailable("registry down");
        return backend.appendMany(s, es, o);
      },
    };
    const metrics = new Registry();
    const sink = createAuditSink({ backend: flaky, log: silentLogger, flushMs: 10_000, metrics });
    sink.emit(req(1));
    sink.emit(req(2));
    await sink.flush();
    expect(sink.dropped()).toBe(2);
    expect(await metrics.getSingleMetricAsString("kubeport_audit_dropped_total")).toContain(
      "kubeport_audit_dropped_total 2",
    );
    down = false;
    sink.emit(req(3));
    await sink.flush();
    expect(
      (await backend.readStream(AUDIT_STREAM)).map((r) => (r.entry as RequestAuditEvent).latency_ms),
    ).toEqual([3]);
    await sink.close();
    await backend.close();
  });

  test("later: the event is made after the caller returns, within flushMs, in its place among emitted ones", async () => {
    const lines: string[] = [];
    const log = pino({ base: undefined }, { write: (s: string) => lines.push(s) });
    const backend = openSqliteBackend({ path: ":memory:" });
    const sink = createAuditSink({ backend, log, flushMs: 20 });
    let made = 0;
    sink.emit(req(1));
    sink.later(() => {
      made++;
      return req(2);
    });
    sink.emit(req(3));
    // Nothing of the deferred event was done on the caller's path: not made, not logged.
    expect(made).toBe(0);
    expect(lines.map((l) => JSON.parse(l).audit.latency_ms)).toEqual([1, 3]);
    // Made (and logged) by the sink within flushMs, stored in the order the events were given.
    const deadline = Date.now() + 10_000;
    while ((await backend.readStream(AUDIT_STREAM)).length < 3 && Date.now() < deadline) await Bun.sleep(5);
    expect(made).toBe(1);
    expect(lines.map((l) => JSON.parse(l).audit.latency_ms)).toEqual([1, 3, 2]);
    expect(
      (await backend.readStream(AUDIT_STREAM)).map((r) => (r.entry as RequestAuditEvent).latency_ms),
    ).toEqual([1, 2, 3]);
    await sink.close();
    await backend.close();
  });

  test("later: flush and close make what waits; a maker that throws is dropped and counted, never thrown", async () => {
    const backend = openSqliteBackend({ path: ":memory:" });
    const sink = createAuditSink({ backend, log: silentLogger, flushMs: 10_000 });
    sink.later(() => req(1));
    sink.later(() => {
      throw new Error("broken maker");
    });
    sink.later(() => req(3));
    await sink.flush();
    expect(
      (await backend.readStream(AUDIT_STREAM)).map((r) => (r.entry as RequestAuditEvent).latency_ms),
    ).toEqual([1, 3]);
    expect(sink.dropped()).toBe(1);
    sink.later(() => req(4));
    await sink.close();
    expect((await backend.readStream(AUDIT_STREAM)).length).toBe(3);
    await backend.close();
  });

  test("later while the registry is down: each event is still logged within flushMs, and one past maxBuffered at once", async () => {
    const lines: string[] = [];
    const log = pino({ base: undefined }, { write: (s: string) => lines.push(s) });
    const backend = openSqliteBackend({ path: ":memory:" });
    let release!: () => void;
    const hung = new Promise<void>((r) => {
      release = r;
    });
    let calls = 0;
    const stuck: Backend = {
      ...backend,
      // A registry that does not answer: the first batch's write hangs until released.
      appendMany: async (s, es, o) => {
        if (calls++ === 0) await hung;
        return backend.appendMany(s, es, o);
      },
    };
    const sink = createAuditSink({ backend: stuck, log, flushMs: 10, maxBuffered: 2 });
    sink.later(() => req(1));
    const deadline = Date.now() + 10_000;
    while (lines.length < 1 && Date.now() < deadline) await Bun.sleep(5);
    // The write of event 1 hangs; 2 and 3 wait behind it, 4 is past maxBuffered.
    sink.later(() => req(2));
    sink.later(() => req(3));
    sink.later(() => req(4));
    expect(sink.dropped()).toBe(1);
    while (lines.length < 4 && Date.now() < deadline) await Bun.sleep(5);
    expect(lines.map((l) => JSON.parse(l).audit.latency_ms).sort()).toEqual([1, 2, 3, 4]);
    release();
    await sink.close();
    expect(
      (await backend.readStream(AUDIT_STREAM)).map((r) => (r.entry as RequestAuditEvent).latency_ms),
    ).toEqual([1, 2, 3]);
    await backend.close();
  });

  test("beyond maxBuffered the newest events are dropped, not queued without bound", async () => {
    const backend = openSqliteBackend({ path: ":memory:" });
    const sink = createAuditSink({ backend, log: silentLogger, flushMs: 10_000, maxBuffered: 3 });
    for (let i = 0; i < 5; i++) sink.emit(req(i));
    expect(sink.dropped()).toBe(2);
    await sink.close();
    expect((await backend.readStream(AUDIT_STREAM)).length).toBe(3);
    await backend.close();
  });

  test("a backlog bigger than batchMax is written in several transactions, in order, none lost", async () => {
    const backend = openSqliteBackend({ path: ":memory:" });
    const batches: number[] = [];
    const counting: Backend = {
      ...backend,
      appendMany: (s, es, o) => {
        batches.push(es.length);
        return backend.appendMany(s, es, o);
      },
    };
    const sink = createAuditSink({ backend: counting, log: silentLogger, flushMs: 10_000, batchMax: 4 });
    for (let i = 0; i < 10; i++) sink.emit(req(i));
    await sink.flush();
    expect(batches).toEqual([4, 4, 2]);
    const rows = await backend.readStream(AUDIT_STREAM);
    expect(rows.map((r) => (r.entry as RequestAuditEvent).latency_ms)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    await sink.close();
    await backend.close();
  });

  test("a failed batch loses only itself: the rest of the backlog is retried and written in order", async () => {
    const backend = openSqliteBackend({ path: ":memory:" });
    let failures = 1;
    const blip: Backend = {
      ...backend,
      appendMany: async (s, es, o) => {
        if (failures-- > 0) throw unavailable("SQLITE_BUSY");
        return backend.appendMany(s, es, o);
      },
    };
    const sink = createAuditSink({
      backend: blip,
      log: silentLogger,
      flushMs: 10_000,
      batchMax: 4,
      retryMs: 50,
    });
    for (let i = 0; i < 10; i++) sink.emit(req(i));
    await sink.flush();
    expect(sink.dropped()).toBe(4);
    const written = async () =>
      (await backend.readStream(AUDIT_STREAM)).map((r) => (r.entry as RequestAuditEvent).latency_ms);
    for (let t = Date.now(); (await written()).length < 6 && Date.now() - t < 3000; ) await Bun.sleep(20);
    expect(await written()).toEqual([4, 5, 6, 7, 8, 9]);
    await sink.close();
    await backend.close();
  });

  test("close writes what is buffered, and events after close still reach the registry", async () => {
    const backend = openSqliteBackend({ path: ":memory:" });
    const sink = createAuditSink({ backend, log: silentLogger, flushMs: 10_000 });
    sink.emit(req(1));
    await sink.close();
    expect((await backend.readStream(AUDIT_STREAM)).length).toBe(1);
    // A watch that ends while the server stops reports after the sink closed.
    sink.emit(req(2));
    await sink.flush();
    expect(
      (await backend.readStream(AUDIT_STREAM)).map((r) => (r.entry as RequestAuditEvent).latency_ms),
    ).toEqual([1, 2]);
    await backend.close();
  });

  test("refusals of one (identity, cluster, reason) within a second are one event whose count adds up", async () => {
    const backend = openSqliteBackend({ path: ":memory:" });
    const lines: string[] = [];
    const log = pino({ base: undefined }, { write: (s: string) => lines.push(s) });
    const sink = createAuditSink({ backend, log, flushMs: 10, refusalWindowMs: 60_000 });
    const refused = (user: string, reason: string): AuditEvent => ({
      ...req(0, user),
      response_code: 403,
      reason,
    });
    for (let i = 0; i < 500; i++) sink.refuse(`mallory|c1|role`, "user:mallory", refused("mallory", "role"));
    for (let i = 0; i < 7; i++) sink.refuse(`mallory|c1|lock`, "user:mallory", refused("mallory", "lock"));
    sink.refuse(`bob|c1|role`, "user:bob", refused("bob", "role"));
    sink.emit(req(1, "carol"));
    // The window is still open: only carol's event is out.
    await Bun.sleep(50);
    expect((await backend.readStream(AUDIT_STREAM)).map((r) => (r.entry as AuditEvent).user)).toEqual([
      "carol",
    ]);
    await sink.flush();
    const rows = (await backend.readStream(AUDIT_STREAM)).map((r) => r.entry as KubeRequestEvent);
    expect(rows.map((e) => [e.user, e.reason, e.count])).toEqual([
      ["carol", undefined, undefined],
      ["mallory", "role", 500],
      ["mallory", "lock", 7],
      ["bob", "role", 1],
    ]);
    // One log line per event, not per refusal.
    expect(lines.length).toBe(4);
    await sink.close();
    await backend.close();
  });

  test("refusals are stored with their owner: over the cap the flooder's go, nobody else's", async () => {
    const backend = openSqliteBackend({ path: ":memory:" });
    const sink = createAuditSink({
      backend,
      log: silentLogger,
      flushMs: 10_000,
      refusalWindowMs: 60_000,
      retention: { maxAgeMs: 0, maxEntries: 1000 },
    });
    for (let i = 0; i < 100; i++) sink.emit(req(i, "bob"));
    await sink.flush();
    // 3,000 distinct refusal keys (a cluster name per request): aggregation cannot fold them.
    for (let i = 0; i < 3000; i++)
      sink.refuse(`mallory|c${i}|not_found`, "user:mallory", { ...req(i, "mallory"), response_code: 404 });
    await sink.flush();
    const rows = (await backend.readStream(AUDIT_STREAM, { limit: 5000 })).map(
      (r) => r.entry as KubeRequestEvent,
    );
    expect(rows.length).toBeLessThanOrEqual(1000);
    expect(rows.filter((e) => e.user === "bob").length).toBe(100);
    await sink.close();
    await backend.close();
  });
});
