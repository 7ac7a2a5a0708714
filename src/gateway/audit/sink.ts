// The audit sink: one log line per event at once, and batched appends to the registry's "audit" stream.
import type { Registry } from "prom-client";
import { Counter } from "prom-client";
import type { Logger } from "../lib/log.ts";
import type { Backend } from "../registry/index.ts";
import type { AuditSink, RequestAuditEvent, SessionAuditEvent } from "./identity.ts";

export const AUDIT_STREAM = "audit";

/** What the "audit" stream holds: the event plus its type. */
export type AuditEntry =
  | ({ type: "request" } & RequestAuditEvent)
  | ({ type: "session" } & SessionAuditEvent);

export interface AuditSinkOptions {
  backend: Backend;
  log: Logger;
  /** Longest an event waits in memory before its batch is written to the registry. */
  flushMs?: number;
  /** Events per registry transaction; a bigger backlog is written in several, yielding in between. */
  batchMax?: number;
  /** Events held while the registry is slow; beyond this the newest are dropped (and counted). */
  maxBuffered?: number;
  /** While the registry refuses writes, how often a batch of the backlog is tried again. */
  retryMs?: number;
  metrics?: Registry;
}

export interface BufferedAuditSink extends AuditSink {
  /** Writes everything buffered now; never rejects. */
  flush(): Promise<void>;
  /** Events not stored in the registry (buffer full or registry down). */
  dropped(): number;
  /** Writes what is buffered; events that still arrive (late stream ends) are written at once. */
  close(): Promise<void>;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Creates the sink. `request` / `session` never throw and never wait: the log line is written at
 * once (pino child `audit`), the registry append happens within `flushMs`, many events to one
 * transaction (SQLite appends are synchronous: one per request held the event loop ~20 µs each and
 * a 200 ms backlog stalled every request behind it). When the registry refuses, the batch is
 * dropped and counted (`kubeport_audit_dropped_total`), the rest of the backlog is kept and tried
 * again every `retryMs`; logging goes on.
 */
export function createAuditSink({
  backend,
  log,
  flushMs = 10,
  batchMax = 64,
  maxBuffered = 10_000,
  retryMs = 1000,
  metrics,
}: AuditSinkOptions): BufferedAuditSink {
  const alog = log.child({ component: "audit" });
  const droppedCounter = metrics
    ? new Counter({
        name: "kubeport_audit_dropped_total",
        help: "Audit events not written to the registry",
        registers: [metrics],
      })
    : undefined;
  let buffer: AuditEntry[] = [];
  let dropped = 0;
  let flushing: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failing = false;
  let closed = false;

  const drop = (n: number) => {
    dropped += n;
    droppedCounter?.inc(n);
  };

  const push = (entry: AuditEntry) => {
    try {
      if (alog.isLevelEnabled("info"))
        alog.info(
          { audit: entry },
          entry.type === "request" ? "kube request" : `kube ${entry.kind} ${entry.phase}`,
        );
    } catch {
      // A broken log destination must not fail the request.
    }
    if (buffer.length >= maxBuffered) return drop(1);
    buffer.push(entry);
    if (closed) void flush();
    else schedule(failing ? retryMs : flushMs);
  };

  const schedule = (ms: number) => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, ms);
    timer.unref?.();
  };

  /** Writes one batch; false when the registry refused it (then that batch is dropped and counted). */
  const writeBatch = async (batch: AuditEntry[]): Promise<boolean> => {
    try {
      await backend.appendMany(AUDIT_STREAM, batch);
    } catch (err) {
      drop(batch.length);
      if (!failing)
        alog.warn(
          { err: (err as Error)?.message },
          "audit registry writes failing; dropping events until it recovers",
        );
      failing = true;
      return false;
    }
    if (failing) alog.info("audit registry writes recovered");
    failing = false;
    return true;
  };

  const flush = (): Promise<void> => {
    // One writer at a time keeps stream order; a flush during a flush waits for it, then writes.
    flushing = (flushing ?? Promise.resolve()).then(async () => {
      while (buffer.length > 0) {
        // Take the whole backlog; events pushed meanwhile wait for the next round.
        const backlog = buffer;
        buffer = [];
        for (let i = 0; i < backlog.length; i += batchMax) {
          // Let requests run between transactions of a large backlog.
          if (i > 0) await nextTurn();
          if (await writeBatch(backlog.slice(i, i + batchMax))) continue;
          // Only the failed batch is lost. The rest goes back in front and is retried after a
          // pause (a registry outage must not drop everything queued); closing drops it.
          const rest = backlog.slice(i + batchMax);
          if (closed) {
            drop(rest.length + buffer.length);
            buffer = [];
          } else {
            const room = Math.max(0, maxBuffered - buffer.length);
            drop(Math.max(0, rest.length - room));
            buffer = rest.slice(0, room).concat(buffer);
            clearTimeout(timer);
            timer = undefined;
            schedule(retryMs);
          }
          return;
        }
      }
    });
    return flushing;
  };

  return {
    request: (ev) => push({ type: "request", ...ev }),
    session: (ev) => push({ type: "session", ...ev }),
    flush,
    dropped: () => dropped,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await flush();
    },
  };
}
