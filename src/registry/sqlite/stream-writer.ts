// Stream appends (the audit log) on a worker thread with its own connection to the registry file.
// A commit that crosses SQLite's WAL auto-checkpoint threshold runs the checkpoint, two fsyncs, in
// the committing thread: on the event loop that stalled every request behind it for 5-15 ms once
// every ~150 audit batches. Here the worker commits and checkpoints; the event loop only posts rows.
import { WAL_SIZE_LIMIT } from "./schema.ts";
import { insertRows } from "./stream-rows.ts";

/** What insertRows applies after an append: the cap, the age limit (0: none) and the time now. */
export type RowPolicy = Parameters<typeof insertRows>[4];

/**
 * Runs in the worker (a Blob module, so the compiled binary needs no extra entrypoint). The rows
 * are written by `insertRows` from its own source text, so the in-process fallback and the worker
 * share one insert/trim rule.
 */
const WORKER_SOURCE = `
import { Database } from "bun:sqlite";
const insertRows = (${insertRows.toString()});
let db, write, timer;
self.onmessage = (e) => {
  const m = e.data;
  if (m.init) {
    try {
      db = new Database(m.init.path, { strict: true });
      db.run("PRAGMA busy_timeout = " + m.init.busyTimeoutMs);
      db.run("PRAGMA synchronous = NORMAL");
      db.run("PRAGMA journal_size_limit = " + m.init.walSizeLimit);
      write = db.transaction(insertRows);
      // The event loop's connection no longer checkpoints: keep the WAL short from here too.
      timer = setInterval(() => { try { db.run("PRAGMA wal_checkpoint(PASSIVE)"); } catch {} }, m.init.checkpointMs);
      postMessage({ ready: true });
    } catch (err) {
      postMessage({ ready: false, error: String(err && err.message) });
    }
    return;
  }
  if (m.close) {
    clearInterval(timer);
    try { db && db.close(); } catch {}
    postMessage({ closed: true });
    return;
  }
  try {
    write.immediate(db, m.stream, m.rows, m.owners, m.policy);
    postMessage({ id: m.id });
  } catch (err) {
    postMessage({ id: m.id, error: String(err && err.message) });
  }
};
`;

/** A worker that has not opened the file by then is given up (appends go in-process). */
const READY_TIMEOUT_MS = 5000;

export interface StreamWriterOptions {
  path: string;
  busyTimeoutMs: number;
  /** How often the worker checkpoints the WAL besides SQLite's automatic checkpoints. */
  checkpointMs?: number;
}

export interface StreamWriter {
  /** False once the worker failed or was closed: append on the caller's own connection instead. */
  alive(): boolean;
  /** Appends JSON rows to `stream` in one transaction (see insertRows); rejects with the store's message. */
  appendMany(
    stream: string,
    rows: string[],
    owners: (string | null)[] | undefined,
    policy: RowPolicy,
  ): Promise<void>;
  /** Waits for appends in flight, then stops the worker. */
  close(): Promise<void>;
}

/**
 * Starts the worker. Resolves undefined when it cannot run (no Worker, the file cannot be opened):
 * the caller then appends on its own connection as before.
 */
export async function startStreamWriter({
  path,
  busyTimeoutMs,
  checkpointMs = 1000,
}: StreamWriterOptions): Promise<StreamWriter | undefined> {
  let worker: Worker;
  try {
    worker = new Worker(URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" })));
  } catch {
    return undefined;
  }
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  let nextId = 0;
  let broken: Error | undefined;
  let onReady: ((ok: boolean) => void) | undefined;
  let onClosed: (() => void) | undefined;

  const fail = (err: Error) => {
    broken ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    onReady?.(false);
    onClosed?.();
  };
  worker.onmessage = (e: MessageEvent) => {
    const m = e.data as { id?: number; error?: string; ready?: boolean; closed?: boolean };
    if (m.ready !== undefined) return onReady?.(m.ready);
    if (m.closed) return onClosed?.();
    const p = m.id === undefined ? undefined : pending.get(m.id);
    if (!p) return;
    pending.delete(m.id!);
    if (m.error === undefined) p.resolve();
    else p.reject(new Error(m.error));
  };
  worker.onerror = (e: ErrorEvent) => fail(new Error(`stream writer worker failed: ${e.message}`));
  // A worker can also end without an error event; nothing pending may wait for it forever.
  worker.addEventListener("close", () => fail(new Error("stream writer worker exited")));

  let readyTimer: ReturnType<typeof setTimeout> | undefined;
  const ready = await new Promise<boolean>((resolve) => {
    onReady = resolve;
    readyTimer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
    worker.postMessage({ init: { path, busyTimeoutMs, checkpointMs, walSizeLimit: WAL_SIZE_LIMIT } });
  });
  clearTimeout(readyTimer);
  onReady = undefined;
  if (!ready) {
    worker.terminate();
    return undefined;
  }
  // A worker left running must not keep the process alive.
  (worker as Worker & { unref?: () => void }).unref?.();
  const inflight = new Set<Promise<void>>();

  return {
    alive: () => broken === undefined,
    appendMany(stream, rows, owners, policy) {
      if (broken) return Promise.reject(broken);
      const done = new Promise<void>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, stream, rows, owners, policy });
      });
      inflight.add(done);
      const forget = () => void inflight.delete(done);
      done.then(forget, forget);
      return done;
    },
    async close() {
      await Promise.allSettled([...inflight]);
      if (!broken) {
        await Promise.race([
          new Promise<void>((resolve) => {
            onClosed = resolve;
            worker.postMessage({ close: true });
          }),
          Bun.sleep(2000),
        ]);
      }
      // Anything posted after the in-flight snapshot above is refused, never left waiting.
      fail(new Error("stream writer closed"));
      worker.terminate();
    },
  };
}
