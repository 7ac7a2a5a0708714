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
  /** How often buffered events are written to the registry. */
  flushMs?: number;
  /** Events held while the registry is slow; beyond this the newest are dropped (and counted). */
  maxBuffered?: number;
  metrics?: Registry;
}

export interface BufferedAuditSink extends AuditSink {
  /** Writes everything buffered now; never rejects. */
  flush(): Promise<void>;
  /** Events not stored in the registry (buffer full or registry down). */
  dropped(): number;
  /** Stops the timer after a final flush. */
  close(): Promise<void>;
}

/**
 * Creates the sink. `request` / `session` never throw and never wait: the log line is written at
 * once (pino child `audit`), the registry append happens on the next flush. When the registry
 * refuses, the batch is dropped and counted (`kubeport_audit_dropped_total`); logging goes on.
 */
export function createAuditSink({
  backend,
  log,
  flushMs = 200,
  maxBuffered = 10_000,
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
  let failing = false;

  const drop = (n: number) => {
    dropped += n;
    droppedCounter?.inc(n);
  };

  const push = (entry: AuditEntry) => {
    try {
      alog.info(
        { audit: entry },
        entry.type === "request" ? "kube request" : `kube ${entry.kind} ${entry.phase}`,
      );
    } catch {
      // A broken log destination must not fail the request.
    }
    if (buffer.length >= maxBuffered) return drop(1);
    buffer.push(entry);
  };

  const writeBatch = async (batch: AuditEntry[]) => {
    for (let i = 0; i < batch.length; i++) {
      try {
        await backend.append(AUDIT_STREAM, batch[i]);
      } catch (err) {
        drop(batch.length - i);
        if (!failing)
          alog.warn(
            { err: (err as Error)?.message },
            "audit registry writes failing; dropping events until it recovers",
          );
        failing = true;
        return;
      }
    }
    if (failing) alog.info("audit registry writes recovered");
    failing = false;
  };

  const flush = (): Promise<void> => {
    // One writer at a time keeps stream order; a flush during a flush waits for it, then writes.
    flushing = (flushing ?? Promise.resolve()).then(async () => {
      const batch = buffer;
      buffer = [];
      if (batch.length > 0) await writeBatch(batch);
    });
    return flushing;
  };

  const timer = setInterval(() => void flush(), flushMs);
  timer.unref?.();

  return {
    request: (ev) => push({ type: "request", ...ev }),
    session: (ev) => push({ type: "session", ...ev }),
    flush,
    dropped: () => dropped,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
