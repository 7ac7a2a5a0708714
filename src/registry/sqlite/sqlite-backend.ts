// The embedded registry: one SQLite file (WAL), every write one IMMEDIATE transaction.
import { type Clock, systemClock } from "../../lib/clock.ts";
import {
  alreadyExists,
  badParameter,
  compareFailed,
  fenced,
  KubeportError,
  unavailable,
} from "../../lib/errors.ts";
import { type Logger, silentLogger } from "../../lib/log.ts";
import { decodeResource, encodeResource } from "../codec.ts";
import { leaseDeadline, newSession } from "../lease.ts";
import { expiresAt, validateResource } from "../resources.ts";
import type {
  AppendOptions,
  Backend,
  Fence,
  Kind,
  Lease,
  Resource,
  WatchEvent,
  Watcher,
  WatchOptions,
  WriteOptions,
} from "../types.ts";
import { startSqliteFeed } from "./feed.ts";
import { openFile } from "./open-file.ts";
import { insertRows } from "./stream-rows.ts";
import { type StreamWriter, startStreamWriter } from "./stream-writer.ts";
import { createWriteHealth } from "./write-health.ts";

export interface SqliteBackendOptions {
  /** File path; ":memory:" works for a single instance (no cross-process watch). */
  path: string;
  log?: Logger;
  clock?: Clock;
  busyTimeoutMs?: number;
  /** How often a watcher polls the changes table. */
  pollMs?: number;
  /** How often expired resources are swept (and the changes table trimmed). */
  sweepMs?: number;
  /** How many change rows are kept for watchers to catch up from. */
  changesKeep?: number;
  /** Entries kept per audit stream. */
  streamCap?: number;
}

interface Row {
  rev: number;
  expires: number | null;
  json: string;
}

export interface SqliteBackend extends Backend {
  /** Deletes expired resources (with delete events) and trims old changes; runs on a timer too. */
  sweep(): void;
}

/** Opens (creating when missing) the SQLite registry at `path`. */
export function openSqliteBackend({
  path,
  log = silentLogger,
  clock = systemClock,
  busyTimeoutMs = 5000,
  pollMs = 150,
  sweepMs = 1000,
  changesKeep = 10_000,
  streamCap = 100_000,
}: SqliteBackendOptions): SqliteBackend {
  const db = openFile(path, busyTimeoutMs, log);

  const q = {
    nextRev: db.query<{ value: number }, []>(
      "UPDATE meta SET value = value + 1 WHERE key = 'rev' RETURNING value",
    ),
    getRow: db.query<Row, [string, string]>(
      "SELECT rev, expires, json FROM resources WHERE kind = ? AND name = ?",
    ),
    upsert: db.query(
      "INSERT INTO resources (kind, name, rev, expires, json) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (kind, name) DO UPDATE SET rev = ?3, expires = ?4, json = ?5",
    ),
    deleteRow: db.query("DELETE FROM resources WHERE kind = ? AND name = ?"),
    change: db.query("INSERT INTO changes (rev, kind, name, op, json) VALUES (?, ?, ?, ?, ?)"),
    list: db.query<Row & { name: string }, [string, number]>(
      "SELECT name, rev, expires, json FROM resources WHERE kind = ? AND (expires IS NULL OR expires > ?) ORDER BY name",
    ),
    listPrefix: db.query<Row & { name: string }, [string, number, string, number]>(
      "SELECT name, rev, expires, json FROM resources WHERE kind = ? AND (expires IS NULL OR expires > ?) AND substr(name, 1, ?4) = ?3 ORDER BY name",
    ),
    expired: db.query<{ kind: string; name: string }, [number]>(
      "SELECT kind, name FROM resources WHERE expires IS NOT NULL AND expires <= ?",
    ),
    lock: db.query<{ holder: string; session: string; token: number; expires_at: number }, [string]>(
      "SELECT holder, session, token, expires_at FROM locks WHERE name = ?",
    ),
    setLock: db.query(
      "INSERT INTO locks (name, holder, session, token, expires_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO UPDATE SET holder = ?2, session = ?3, token = ?4, expires_at = ?5",
    ),
    readStream: db.query<{ id: number; entry: string }, [string, number, number]>(
      "SELECT id, entry FROM stream_entries WHERE stream = ? AND id > ? ORDER BY id LIMIT ?",
    ),
  };

  const tx = db.transaction(<T>(fn: () => T): T => fn());
  let closed = false;
  // Started on the first appendMany of a file registry (discovery and ctl never append).
  let writerStart: Promise<StreamWriter | undefined> | undefined;
  const streamWriter = () => {
    writerStart ??=
      path === ":memory:"
        ? Promise.resolve(undefined)
        : startStreamWriter({ path, busyTimeoutMs }).then((w) => {
            // Checkpoints now happen on the worker (automatic ones after its commits, and timed).
            if (w && !closed) db.run("PRAGMA wal_autocheckpoint = 0");
            return w;
          });
    return writerStart;
  };
  const watchers = new Set<Watcher>();

  // A full or read-only disk: every write fails until space returns. Readiness reports it; a probe
  // every second checkpoints the WAL (giving its space back) and tries a tiny write.
  const health = createWriteHealth({
    path,
    log,
    probe: () => {
      try {
        db.run("PRAGMA wal_checkpoint(TRUNCATE)");
      } catch {
        // busy, or still no space: the write below tells
      }
      write(() => db.run("UPDATE meta SET value = value WHERE key = 'schema'"));
    },
  });

  /** Runs `fn` in a write transaction; store errors become `unavailable`, typed errors pass. */
  const write = <T>(fn: () => T): T => {
    if (closed) throw unavailable("sqlite registry is closed");
    let out: T;
    try {
      out = tx.immediate(fn) as T;
    } catch (err) {
      if (err instanceof KubeportError) throw err;
      health.failed(err);
      throw unavailable(`sqlite registry at ${path}: ${(err as Error).message}`, err);
    }
    health.succeeded();
    return out;
  };
  const read = <T>(fn: () => T): T => {
    if (closed) throw unavailable("sqlite registry is closed");
    try {
      return tx.deferred(fn) as T;
    } catch (err) {
      throw unavailable(`sqlite registry at ${path}: ${(err as Error).message}`, err);
    }
  };

  /** The write's lease must be the lock's current, unexpired one: token, holder and session. */
  const checkFence = (fence: Fence | undefined) => {
    if (!fence) return;
    const row = q.lock.get(fence.lock);
    const current =
      row &&
      row.token === fence.token &&
      row.holder === fence.holder &&
      row.session === fence.session &&
      row.expires_at > clock.now();
    if (!current) {
      throw fenced(
        `lock ${fence.lock}: lease ${fence.token}|${fence.holder} is not the lock's current lease (now ${
          row && row.holder !== "" && row.expires_at > clock.now() ? `${row.token}|${row.holder}` : "free"
        })`,
      );
    }
  };
  const live = (row: Row | null): row is Row =>
    row !== null && (row.expires === null || row.expires > clock.now());

  /** Writes `r` with a new revision and records the change. */
  const store = (r: Resource): Resource => {
    const rev = q.nextRev.get()!.value;
    const json = encodeResource(r, rev);
    q.upsert.run(r.kind, r.metadata.name, rev, expiresAt(r) ?? null, json);
    q.change.run(rev, r.kind, r.metadata.name, "put", json);
    return JSON.parse(json) as Resource;
  };
  const remove = (kind: string, name: string) => {
    q.deleteRow.run(kind, name);
    q.change.run(q.nextRev.get()!.value, kind, name, "delete", null);
  };

  const metaValue = db.query<{ value: number }, [string]>("SELECT value FROM meta WHERE key = ?");
  const anyExpired = db.query<{ one: number }, [number]>(
    "SELECT 1 AS one FROM resources WHERE expires IS NOT NULL AND expires <= ? LIMIT 1",
  );
  // Trim in batches: only once the log holds a tenth more than it keeps.
  const trimSlack = Math.max(1, Math.floor(changesKeep / 10));
  const sweep = () => {
    if (closed) return;
    // Look first (a read takes no lock), so idle instances do not contend for the write lock.
    const due = read(() => ({
      expired: anyExpired.get(clock.now()) !== null,
      trim: metaValue.get("rev")!.value - changesKeep - metaValue.get("trimmed")!.value >= trimSlack,
    }));
    if (!due.expired && !due.trim) return;
    write(() => {
      for (const { kind, name } of q.expired.all(clock.now())) remove(kind, name);
      const upto = metaValue.get("rev")!.value - changesKeep;
      if (upto > metaValue.get("trimmed")!.value) {
        db.query("DELETE FROM changes WHERE rev <= ?").run(upto);
        db.query("UPDATE meta SET value = ? WHERE key = 'trimmed'").run(upto);
      }
    });
  };
  const sweeper = setInterval(() => {
    try {
      sweep();
    } catch (err) {
      log.warn({ err: (err as Error).message }, "registry sweep failed");
    }
  }, sweepMs);
  sweeper.unref?.();

  const backend: SqliteBackend = {
    name: "sqlite",
    sweep,

    async get(kind: Kind, name: string) {
      const row = read(() => q.getRow.get(kind, name));
      return live(row) ? decodeResource(row.json, { kind, name, revision: row.rev }, log) : undefined;
    },

    async list(kind: Kind, opts?: { prefix?: string }) {
      const now = clock.now();
      const rows = read(() =>
        opts?.prefix ? q.listPrefix.all(kind, now, opts.prefix, opts.prefix.length) : q.list.all(kind, now),
      );
      const out: Resource[] = [];
      for (const row of rows) {
        const r = decodeResource(row.json, { kind, name: row.name, revision: row.rev }, log);
        if (r) out.push(r);
      }
      return out;
    },

    async put(resource: Resource, opts?: WriteOptions) {
      const r = validateResource(resource);
      return write(() => {
        checkFence(opts?.fence);
        return store(r);
      });
    },

    async create(resource: Resource, opts?: WriteOptions) {
      const r = validateResource(resource);
      return write(() => {
        checkFence(opts?.fence);
        if (live(q.getRow.get(r.kind, r.metadata.name)))
          throw alreadyExists(`${r.kind} ${JSON.stringify(r.metadata.name)} already exists`);
        return store(r);
      });
    },

    async compareAndSwap(resource: Resource, opts?: WriteOptions) {
      const r = validateResource(resource);
      const expected = r.metadata.revision;
      if (!expected)
        throw badParameter(
          `${r.kind} ${JSON.stringify(r.metadata.name)}: compareAndSwap needs metadata.revision`,
        );
      return write(() => {
        checkFence(opts?.fence);
        const row = q.getRow.get(r.kind, r.metadata.name);
        if (!live(row)) throw compareFailed(`${r.kind} ${JSON.stringify(r.metadata.name)} does not exist`);
        if (String(row.rev) !== expected) {
          throw compareFailed(
            `${r.kind} ${JSON.stringify(r.metadata.name)} changed (revision ${row.rev}, expected ${expected})`,
          );
        }
        return store(r);
      });
    },

    async delete(kind: Kind, name: string, opts?: WriteOptions) {
      return write(() => {
        checkFence(opts?.fence);
        const row = q.getRow.get(kind, name);
        if (!row) return false;
        remove(kind, name);
        return live(row);
      });
    },

    watch(opts: WatchOptions, onEvent: (e: WatchEvent) => void, onError?: (err: unknown) => void): Watcher {
      const feed = startSqliteFeed({
        db,
        kinds: opts.kinds,
        pollMs,
        log,
        clock,
        onEvent,
        onError,
        isClosed: () => closed,
      });
      const w: Watcher = {
        close() {
          feed.close();
          watchers.delete(w);
        },
      };
      watchers.add(w);
      return w;
    },

    async acquireLock(lock: string, holder: string, ttlMs: number, session = newSession()) {
      const sentAt = performance.now();
      return write(() => {
        const now = clock.now();
        const row = q.lock.get(lock);
        // A lease of this very holder and session (its elector stepped down from it) is taken again.
        const ours = row?.holder === holder && row.session === session;
        if (row && row.holder !== "" && row.expires_at > now && !ours) return undefined;
        const lease: Lease = {
          lock,
          holder,
          session,
          token: (row?.token ?? 0) + 1,
          deadline: leaseDeadline(sentAt, ttlMs),
        };
        q.setLock.run(lock, holder, session, lease.token, now + ttlMs);
        return lease;
      });
    },

    async renewLock(lease: Lease, ttlMs: number) {
      const sentAt = performance.now();
      return write(() => {
        const now = clock.now();
        const row = q.lock.get(lease.lock);
        if (
          !row ||
          row.holder !== lease.holder ||
          row.session !== lease.session ||
          row.token !== lease.token ||
          row.expires_at <= now
        )
          return undefined;
        q.setLock.run(lease.lock, lease.holder, lease.session, lease.token, now + ttlMs);
        return { ...lease, deadline: leaseDeadline(sentAt, ttlMs) };
      });
    },

    async releaseLock(lease) {
      write(() => {
        const row = q.lock.get(lease.lock);
        // Keep the row (and its token) so the next acquisition still gets a bigger token.
        if (row && row.holder === lease.holder && row.session === lease.session)
          q.setLock.run(lease.lock, "", "", row.token, 0);
      });
    },

    append(stream: string, entry: unknown) {
      return backend.appendMany(stream, [entry]);
    },

    async appendMany(stream: string, entries: readonly unknown[], opts?: AppendOptions) {
      const rows = opts?.encoded
        ? (entries as string[])
        : entries.map((entry) => {
            const json = JSON.stringify(entry);
            if (json === undefined) throw badParameter("stream entries must be JSON values");
            return json;
          });
      if (rows.length === 0) return;
      if (closed) throw unavailable("sqlite registry is closed");
      const owners = opts?.owners?.some((o) => o !== undefined)
        ? opts.owners.map((o) => o ?? null)
        : undefined;
      const policy = {
        cap: opts?.retention?.maxEntries ?? streamCap,
        maxAgeMs: opts?.retention?.maxAgeMs ?? 0,
        now: clock.now(),
      };
      const writer = await streamWriter();
      if (writer?.alive()) {
        try {
          await writer.appendMany(stream, rows, owners, policy);
          health.succeeded();
          return;
        } catch (err) {
          health.failed(err);
          if (writer.alive() || closed)
            throw unavailable(`sqlite registry at ${path}: ${(err as Error).message}`, err);
          // The worker died: from now on append here, and checkpoint here again.
          log.warn({ err: (err as Error).message }, "stream writer worker failed; appending in-process");
          db.run("PRAGMA wal_autocheckpoint = 1000");
        }
      }
      write(() => insertRows(db, stream, rows, owners, policy));
    },

    async readStream(stream: string, opts?: { after?: string; limit?: number }) {
      const after = opts?.after === undefined ? 0 : Number.parseInt(opts.after, 10);
      if (Number.isNaN(after)) throw badParameter(`stream id ${JSON.stringify(opts?.after)} is not a number`);
      const rows = read(() => q.readStream.all(stream, after, opts?.limit ?? 1000));
      const out: { id: string; entry: unknown }[] = [];
      for (const row of rows) {
        try {
          out.push({ id: String(row.id), entry: JSON.parse(row.entry) });
        } catch {
          log.warn({ stream, id: row.id }, "skipping corrupt stream entry");
        }
      }
      return out;
    },

    async ping() {
      read(() => db.query("SELECT 1").get());
    },

    writeProblem: () => health.problem(),

    async close() {
      if (closed) return;
      for (const w of [...watchers]) w.close();
      clearInterval(sweeper);
      health.stop();
      closed = true;
      await (await writerStart)?.close();
      db.close();
    },
  };
  return backend;
}
