// The SQLite registry's tables, created on open (WAL, busy timeout, one revision counter).
import type { Database } from "bun:sqlite";

export const SCHEMA_VERSION = 1;

/** Bytes a WAL file keeps after a checkpoint resets it (SQLite's journal_size_limit). */
export const WAL_SIZE_LIMIT = 1024 * 1024;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('rev', 0), ('trimmed', 0), ('schema', ${SCHEMA_VERSION});
CREATE TABLE IF NOT EXISTS resources (
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  rev INTEGER NOT NULL,
  expires INTEGER,
  json TEXT NOT NULL,
  PRIMARY KEY (kind, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS resources_expires ON resources (expires) WHERE expires IS NOT NULL;
CREATE TABLE IF NOT EXISTS changes (
  rev INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  op TEXT NOT NULL,
  json TEXT
);
CREATE TABLE IF NOT EXISTS locks (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  token INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  session TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS stream_entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  stream TEXT NOT NULL,
  entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stream_entries_stream ON stream_entries (stream, id);
`;

/**
 * Stream retention (stream-rows.ts): when each row was written, who may lose it under the cap, and
 * a row count per stream. Added to files made before it; their rows get the time their entry names.
 */
const STREAM_RETENTION_DDL = `
ALTER TABLE stream_entries ADD COLUMN ts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stream_entries ADD COLUMN owner TEXT;
UPDATE stream_entries SET ts = coalesce(CAST(unixepoch(json_extract(entry, '$.time'), 'subsec') * 1000 AS INTEGER), CAST(unixepoch('now') * 1000 AS INTEGER))
  WHERE json_valid(entry);
CREATE INDEX IF NOT EXISTS stream_entries_owner ON stream_entries (stream, owner, id) WHERE owner IS NOT NULL;
CREATE TABLE IF NOT EXISTS stream_counts (stream TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR REPLACE INTO stream_counts (stream, n) SELECT stream, count(*) FROM stream_entries GROUP BY stream;
`;

/** Sets the connection pragmas and creates the tables when missing. */
export function prepareDatabase(db: Database, busyTimeoutMs: number): void {
  db.run(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = NORMAL");
  // A WAL grown large (checkpoints failed on a full disk) is cut back once it is checkpointed.
  db.run(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT}`);
  // Left over from a full disk, the WAL may hold the space the write below needs: copy it into the
  // database and truncate it first (best effort: another process may be reading).
  try {
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  } catch {
    // busy or still no space: the write below says which
  }
  db.run("PRAGMA foreign_keys = ON");
  db.transaction(() => {
    db.run(DDL);
    // Files made before leases had sessions.
    const cols = db.query<{ name: string }, []>("PRAGMA table_info(locks)").all();
    if (!cols.some((c) => c.name === "session"))
      db.run("ALTER TABLE locks ADD COLUMN session TEXT NOT NULL DEFAULT ''");
    const streamCols = db.query<{ name: string }, []>("PRAGMA table_info(stream_entries)").all();
    if (!streamCols.some((c) => c.name === "ts")) db.run(STREAM_RETENTION_DDL);
  }).immediate();
}
