// Writes a record straight into a registry's storage, past the Backend's validation: what a role
// stored by an older kubeport (or by hand, with sqlite3 or redis-cli) looks like to a reader.
import { Database } from "bun:sqlite";
import type Redis from "ioredis";

/**
 * Stores `json` (any text) as `kind/name` in the SQLite registry at `path`, with a change record so
 * watchers see it, exactly as the backend's own put does but without validating.
 */
export function writeRawSqlite(path: string, kind: string, name: string, json: string): number {
  const db = new Database(path);
  try {
    db.run("PRAGMA busy_timeout = 5000");
    return db
      .transaction(() => {
        const { value: rev } = db
          .query<{ value: number }, []>("UPDATE meta SET value = value + 1 WHERE key = 'rev' RETURNING value")
          .get()!;
        db.query(
          "INSERT INTO resources (kind, name, rev, expires, json) VALUES (?1, ?2, ?3, NULL, ?4) ON CONFLICT (kind, name) DO UPDATE SET rev = ?3, expires = NULL, json = ?4",
        ).run(kind, name, rev, json);
        db.query("INSERT INTO changes (rev, kind, name, op, json) VALUES (?, ?, ?, 'put', ?)").run(
          rev,
          kind,
          name,
          json,
        );
        return rev;
      })
      .immediate();
  } finally {
    db.close();
  }
}

/** The same for the Redis registry under `{prefix}` (the layout in src/registry/README.md). */
export async function writeRawRedis(
  redis: Redis,
  prefix: string,
  kind: string,
  name: string,
  json: string,
): Promise<number> {
  const base = `{${prefix}}`;
  const rev = await redis.incr(`${base}:rev`);
  await redis.xadd(`${base}:changes`, `${rev}-0`, "kind", kind, "name", name, "op", "put", "json", json);
  await redis.hset(`${base}:r:${kind}`, name, `${rev}:${json}`);
  return rev;
}
