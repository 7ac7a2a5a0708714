// Cross-process watch for the SQLite registry: poll the changes table past our revision cursor.
import type { Database } from "bun:sqlite";
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/log.ts";
import { decodeResource } from "../codec.ts";
import type { Kind, Resource, WatchEvent } from "../types.ts";

export interface SqliteFeedOptions {
  db: Database;
  kinds: readonly Kind[];
  pollMs: number;
  log: Logger;
  clock: Clock;
  onEvent: (e: WatchEvent) => void;
  onError?: (err: unknown) => void;
  isClosed: () => boolean;
}

interface ChangeRow {
  rev: number;
  kind: string;
  name: string;
  op: string;
  json: string | null;
}

/**
 * Emits `init` (a snapshot of the watched kinds), then the changes after it. When the changes
 * table was trimmed past our cursor (we fell behind), emits a fresh `init` instead of guessing.
 */
export function startSqliteFeed({
  db,
  kinds,
  pollMs,
  log,
  clock,
  onEvent,
  onError,
  isClosed,
}: SqliteFeedOptions): { close(): void } {
  const kindSet = new Set<string>(kinds);
  const meta = db.query<{ value: number }, [string]>("SELECT value FROM meta WHERE key = ?");
  const snapshot = db.query<{ name: string; rev: number; json: string }, [string, number]>(
    "SELECT name, rev, json FROM resources WHERE kind = ? AND (expires IS NULL OR expires > ?) ORDER BY name",
  );
  const changes = db.query<ChangeRow, [number, number]>(
    "SELECT rev, kind, name, op, json FROM changes WHERE rev > ? AND rev <= ? ORDER BY rev",
  );
  const tx = db.transaction(<T>(fn: () => T): T => fn());

  let cursor = -1;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const poll = (): WatchEvent[] =>
    tx.deferred(() => {
      const rev = meta.get("rev")!.value;
      const trimmed = meta.get("trimmed")!.value;
      // A counter below our cursor means the file was replaced or reset: start over too.
      if (cursor < 0 || trimmed > cursor || rev < cursor) {
        const resources: Resource[] = [];
        const now = clock.now();
        for (const kind of kindSet) {
          for (const row of snapshot.all(kind, now)) {
            const r = decodeResource(row.json, { kind, name: row.name, revision: row.rev }, log);
            if (r) resources.push(r);
          }
        }
        if (cursor >= 0)
          log.info(
            { cursor, trimmed },
            "registry watch fell behind the change log; sending a fresh snapshot",
          );
        cursor = rev;
        return [{ type: "init", resources } as WatchEvent];
      }
      if (rev === cursor) return [];
      const out: WatchEvent[] = [];
      for (const row of changes.all(cursor, rev)) {
        if (!kindSet.has(row.kind)) continue;
        if (row.op === "delete")
          out.push({ type: "delete", kind: row.kind as Kind, name: row.name, revision: String(row.rev) });
        else if (row.json !== null) {
          const r = decodeResource(row.json, { kind: row.kind, name: row.name, revision: row.rev }, log);
          if (r) out.push({ type: "put", resource: r });
        }
      }
      cursor = rev;
      return out;
    }) as WatchEvent[];

  const tick = () => {
    if (stopped || isClosed()) return;
    try {
      for (const e of poll()) {
        if (stopped) return;
        try {
          onEvent(e);
        } catch (err) {
          log.warn({ err: (err as Error).message }, "registry watch handler threw");
        }
      }
    } catch (err) {
      onError?.(err);
    }
    if (!stopped) timer = setTimeout(tick, pollMs);
  };
  timer = setTimeout(tick, 0);

  return {
    close() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
