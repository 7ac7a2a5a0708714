// The audit sink: events reach the registry stream in order, batched, and a dead registry only drops.
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { Registry } from "prom-client";
import { unavailable } from "../lib/errors.ts";
import { silentLogger } from "../lib/log.ts";
import { type Backend, openSqliteBackend } from "../registry/index.ts";
import { AUDIT_STREAM, createAuditSink } from "./audit.ts";
import type { RequestAuditEvent } from "./identity.ts";

const req = (i: number): RequestAuditEvent => ({
  time: new Date(0).toISOString(),
  user: "alice",
  roles: ["dev"],
  cluster: "c1",
  verb: "list",
  resource: "pods",
  namespace: "default",
  status: 200,
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
      appendMany: (s, es) => {
        appends++;
        return backend.appendMany(s, es);
      },
    };
    const sink = createAuditSink({ backend: counting, log: silentLogger, flushMs: 50 });
    for (let i = 0; i < 5; i++) sink.request(req(i));
    sink.session({
      kind: "exec",
      phase: "start",
      time: new Date(0).toISOString(),
      user: "alice",
      cluster: "c1",
      namespace: "default",
      pod: "p",
      command: ["sh"],
      bytes_in: 0,
      bytes_out: 0,
    });
    expect(appends).toBe(0); // nothing on the request path
    await Bun.sleep(150);
    const rows = await backend.readStream(AUDIT_STREAM);
    expect(appends).toBe(1); // one transaction for the six
    expect(rows.map((r) => (r.entry as { type: string }).type)).toEqual([
      "request",
      "request",
      "request",
      "request",
      "request",
      "session",
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
    sink.request(req(7));
    const line = JSON.parse(lines[0]!);
    expect(line.component).toBe("audit");
    expect(line.audit).toMatchObject({ type: "request", user: "alice", verb: "list", latency_ms: 7 });
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
      appendMany: async (s, es) => {
        if (down) throw unavailable("registry down");
        return backend.appendMany(s, es);
      },
    };
    const metrics = new Registry();
    const sink = createAuditSink({ backend: flaky, log: silentLogger, flushMs: 10_000, metrics });
    sink.request(req(1));
    sink.request(req(2));
    await sink.flush();
    expect(sink.dropped()).toBe(2);
    expect(await metrics.getSingleMetricAsString("kubeport_audit_dropped_total")).toContain(
      "kubeport_audit_dropped_total 2",
    );
    down = false;
    sink.request(req(3));
    await sink.flush();
    expect(
      (await backend.readStream(AUDIT_STREAM)).map((r) => (r.entry as RequestAuditEvent).latency_ms),
    ).toEqual([3]);
    await sink.close();
    await backend.close();
  });

  test("beyond maxBuffered the newest events are dropped, not queued without bound", async () => {
    const backend = openSqliteBackend({ path: ":memory:" });
    const sink = createAuditSink({ backend, log: silentLogger, flushMs: 10_000, maxBuffered: 3 });
    for (let i = 0; i < 5; i++) sink.request(req(i));
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
      appendMany: (s, es) => {
        batches.push(es.length);
        return backend.appendMany(s, es);
      },
    };
    const sink = createAuditSink({ backend: counting, log: silentLogger, flushMs: 10_000, batchMax: 4 });
    for (let i = 0; i < 10; i++) sink.request(req(i));
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
      appendMany: async (s, es) => {
        if (failures-- > 0) throw unavailable("SQLITE_BUSY");
        return backend.appendMany(s, es);
      },
    };
    const sink = createAuditSink({
      backend: blip,
      log: silentLogger,
      flushMs: 10_000,
      batchMax: 4,
      retryMs: 50,
    });
    for (let i = 0; i < 10; i++) sink.request(req(i));
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
    sink.request(req(1));
    await sink.close();
    expect((await backend.readStream(AUDIT_STREAM)).length).toBe(1);
    // A watch that ends while the server stops reports after the sink closed.
    sink.request(req(2));
    await sink.flush();
    expect(
      (await backend.readStream(AUDIT_STREAM)).map((r) => (r.entry as RequestAuditEvent).latency_ms),
    ).toEqual([1, 2]);
    await backend.close();
  });
});
