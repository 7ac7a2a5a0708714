// The audit sink: one log line per event, batched appends to the registry's "audit" stream with its
// retention, and refusals aggregated per (identity, cluster, reason) per second.
import type { Registry } from "prom-client";
import { Counter } from "prom-client";
import { AUDIT_STREAM, type AuditEvent } from "../../audit/index.ts";
import { jsonLines, type Logger } from "../../lib/log.ts";
import type { Backend, StreamRetention } from "../../registry/index.ts";
import type { AuditSink } from "../identity.ts";
import { createRefusalAggregator } from "./refusals.ts";

export interface AuditSinkOptions {
  backend: Backend;
  /** The sink logs on its own child (`component: audit`): pass a logger without a component of its own. */
  log: Logger;
  /** The audit stream's retention (config audit.retention, audit.max_events); default: the store's cap. */
  retention?: StreamRetention;
  /**
   * Longest an event waits in memory before its batch is written to the registry (sooner once
   * `batchMax` wait). One SQLite append costs ~15 µs of CPU a row in batches of 30 and ~7 µs in
   * batches of 300 (the commit's fixed pages, the retention check, one message to the writer
   * thread): at 100 ms a busy gateway writes a few hundred rows a transaction.
   */
  flushMs?: number;
  /** Longest a deferred event (`later`) waits to be made and its log line written. */
  logMs?: number;
  /**
   * Events per registry transaction; a bigger backlog is written in several, yielding in between.
   * On Redis a batch is one script (~8 µs of the server's one thread an event): 256 holds other
   * clients up for ~2 ms at most.
   */
  batchMax?: number;
  /** Events held while the registry is slow; beyond this the newest are dropped (and counted). */
  maxBuffered?: number;
  /** While the registry refuses writes, how often a batch of the backlog is tried again. */
  retryMs?: number;
  /** Refusals of one key within this window become one event with a count. */
  refusalWindowMs?: number;
  /** The refusal windows' clock, ms (performance.now by default; tests pass their own). */
  now?: () => number;
  metrics?: Registry;
}

export interface BufferedAuditSink extends AuditSink {
  later(make: () => AuditEvent): void;
  /** Closes the refusal windows open now and writes everything buffered; never rejects. */
  flush(): Promise<void>;
  /** Events not stored in the registry (buffer full or registry down). */
  dropped(): number;
  /** Writes what is buffered; events that still arrive (late stream ends) are written at once. */
  close(): Promise<void>;
}

/** An event `later` was given: made when its batch is written. */
interface Made {
  make: () => AuditEvent;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Creates the sink. `emit` / `refuse` / `later` never throw and never wait: the log line is written
 * at once (pino child `audit`; a refusal's when its window closes; `later`'s when its event is made,
 * within `flushMs`, off the request path), the registry append happens within
 * `flushMs`, many events to one transaction. A refusal is stored with its owner (the user, or the
 * client address when nobody authenticated), so a stream over its cap loses the biggest flooder's
 * refusals first (registry StreamRetention). When the registry refuses, the batch is dropped and
 * counted (`kubeport_audit_dropped_total`), the rest of the backlog is kept and tried again every
 * `retryMs`; logging goes on.
 */
export function createAuditSink({
  backend,
  log,
  retention,
  flushMs = 100,
  logMs = 10,
  batchMax = 256,
  maxBuffered = 10_000,
  retryMs = 1000,
  refusalWindowMs = 1000,
  now,
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
  const refusedCounter = metrics
    ? new Counter({
        name: "kubeport_audit_refusals_total",
        help: "Requests the gateway refused (each aggregated audit event counts all it stands for)",
        registers: [metrics],
      })
    : undefined;
  // Events as JSON: encoded once, for the registry row and (under `kubeport start`) the log line;
  // an event given to `later` waits as its maker until the batch is written (encodeMade).
  let buffer: (string | Made)[] = [];
  // owners[i] is buffer[i]'s owner; kept only while some event in the buffer has one.
  let owners: (string | undefined)[] = [];
  let dropped = 0;
  let flushing: Promise<void> | undefined;
  // Flushes called and not finished (a full batch starts one only when none is under way).
  let flushes = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let makeTimer: ReturnType<typeof setTimeout> | undefined;
  // Makers waiting in `buffer` (then encodeMade has work).
  let makers = 0;
  let failing = false;
  let closed = false;

  const drop = (n: number) => {
    dropped += n;
    droppedCounter?.inc(n);
  };

  // A JSON log on a buffered destination: the line is built from the same encoding and written
  // with others (lib/log.ts jsonLines); any other log gets pino's own.
  const fast = jsonLines(alog);

  /** The event's JSON, its log line written; undefined when it is no JSON (dropped and counted). */
  const encode = (ev: AuditEvent): string | undefined => {
    let json: string;
    try {
      json = JSON.stringify(ev);
    } catch {
      // Not JSON (never for the events built here): dropped and counted, never thrown at a request.
      drop(1);
      return undefined;
    }
    try {
      if (alog.isLevelEnabled("info")) {
        if (fast) fast.add(fast.line(ev.time, "audit", json, ev.event));
        else alog.info({ audit: ev }, ev.event);
      }
    } catch {
      // A broken log destination must not fail the request.
    }
    return json;
  };

  const enqueue = (entry: string | Made, owner: string | undefined) => {
    if (buffer.length >= maxBuffered) return drop(1);
    buffer.push(entry);
    owners.push(owner);
    if (closed) void flush();
    else if (!failing && buffer.length >= batchMax && flushes === 0) {
      // A whole transaction's worth: written now, not held for the rest of flushMs.
      clearTimeout(timer);
      timer = undefined;
      void flush(false);
    } else schedule(failing ? retryMs : flushMs);
  };

  const push = (ev: AuditEvent, owner?: string) => {
    const json = encode(ev);
    if (json !== undefined) enqueue(json, owner);
  };

  /** The events `later` deferred, made and encoded now, in their place (a maker that throws: dropped). */
  const encodeMade = () => {
    if (makers === 0) return;
    makers = 0;
    let gone = 0;
    for (let i = 0; i < buffer.length; i++) {
      const entry = buffer[i]!;
      if (typeof entry === "string") continue;
      let json: string | undefined;
      try {
        json = encode(entry.make());
      } catch {
        drop(1);
      }
      if (json === undefined) gone++;
      buffer[i] = json ?? "";
    }
    if (gone > 0) {
      const keep = buffer.map((e) => e !== "");
      buffer = buffer.filter((_, i) => keep[i]);
      owners = owners.filter((_, i) => keep[i]);
    }
  };

  const refusals = createRefusalAggregator({
    emit: (ev, owner) => {
      refusedCounter?.inc(ev.count ?? 1);
      push(ev, owner);
    },
    windowMs: refusalWindowMs,
    ...(now ? { now } : {}),
  });

  const schedule = (ms: number) => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flush(false);
    }, ms);
    timer.unref?.();
  };

  /** Writes one batch; false when the registry refused it (then that batch is dropped and counted). */
  const writeBatch = async (batch: string[], batchOwners: (string | undefined)[]): Promise<boolean> => {
    try {
      await backend.appendMany(AUDIT_STREAM, batch, {
        encoded: true,
        ...(batchOwners.some((o) => o !== undefined) ? { owners: batchOwners } : {}),
        ...(retention ? { retention } : {}),
      });
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

  /**
   * Writes what is buffered. `all`: until nothing is left (flush, close); otherwise events that
   * arrive during the write wait for the next timer or a full batch, so they are not written in a
   * transaction of a few rows.
   */
  const flush = (all = true): Promise<void> => {
    // One writer at a time keeps stream order; a flush during a flush waits for it, then writes.
    flushes++;
    flushing = (flushing ?? Promise.resolve()).then(async () => {
      try {
        await writeBacklog(all);
      } finally {
        flushes--;
      }
    });
    return flushing;
  };

  /** Writes the buffer in batchMax transactions (a failed one: dropped, the rest retried later). */
  const writeBacklog = async (all: boolean): Promise<void> => {
    for (let round = 0; buffer.length > 0; round++) {
      if (round > 0 && !all && buffer.length < batchMax) return schedule(flushMs);
      encodeMade();
      // Take the whole backlog; events pushed meanwhile wait for the next round.
      const backlog = buffer as string[];
      const backlogOwners = owners;
      buffer = [];
      owners = [];
      for (let i = 0; i < backlog.length; i += batchMax) {
        // Let requests run between transactions of a large backlog.
        if (i > 0) await nextTurn();
        if (await writeBatch(backlog.slice(i, i + batchMax), backlogOwners.slice(i, i + batchMax))) continue;
        // Only the failed batch is lost. The rest goes back in front and is retried after a
        // pause (a registry outage must not drop everything queued); closing drops it.
        const rest = backlog.slice(i + batchMax);
        const restOwners = backlogOwners.slice(i + batchMax);
        if (closed) {
          // Their log lines are written still.
          encodeMade();
          drop(rest.length + buffer.length);
          buffer = [];
          owners = [];
        } else {
          const room = Math.max(0, maxBuffered - buffer.length);
          drop(Math.max(0, rest.length - room));
          buffer = [...rest.slice(0, room), ...buffer];
          owners = restOwners.slice(0, room).concat(owners);
          clearTimeout(timer);
          timer = undefined;
          schedule(retryMs);
        }
        return;
      }
    }
  };

  return {
    emit: (ev) => push(ev),
    later(make) {
      if (buffer.length >= maxBuffered) {
        // Full (the registry is slow or down): not stored, but logged at once like every event.
        try {
          if (encode(make()) === undefined) return;
        } catch {
          // Counted below.
        }
        return drop(1);
      }
      enqueue({ make }, undefined);
      makers++;
      // Made within flushMs even while a registry write is pending: their log lines do not wait.
      if (makeTimer) return;
      makeTimer = setTimeout(
        () => {
          makeTimer = undefined;
          encodeMade();
        },
        Math.min(flushMs, logMs),
      );
      makeTimer.unref?.();
    },
    refuse: (key, owner, ev) => refusals.add(key, owner, ev),
    flush() {
      refusals.drain();
      return flush();
    },
    dropped: () => dropped,
    async close() {
      closed = true;
      refusals.drain();
      if (timer) clearTimeout(timer);
      timer = undefined;
      clearTimeout(makeTimer);
      makeTimer = undefined;
      await flush();
    },
  };
}
