// Redis watch: an atomic snapshot (init), then XREAD BLOCK on a dedicated connection; any gap or reconnect → init again.

import { createBackoff } from "../../lib/backoff.ts";
import type { Clock } from "../../lib/clock.ts";
import { describeError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log.ts";
import { decodeResource } from "../codec.ts";
import type { Kind, Resource, WatchEvent } from "../types.ts";
import { createRedisClient, type RedisClient, type RedisConnectionConfig } from "./client.ts";
import type { RedisKeys, RedisScripts } from "./redis-backend.ts";

export interface RedisFeedOptions {
  conn: RedisConnectionConfig;
  client: RedisClient;
  scripts: RedisScripts;
  keys: RedisKeys;
  kinds: readonly Kind[];
  log: Logger;
  clock: Clock;
  onEvent: (e: WatchEvent) => void;
  onError?: (err: unknown) => void;
  decodeStored: (kind: string, name: string, value: string, now: number) => Resource | undefined;
  /** How long one XREAD blocks; bounds how fast a silent reconnect is noticed. */
  blockMs?: number;
}

type XReadReply = [string, [string, string[]][]][] | null;

const revOf = (id: string) => Number(id.slice(0, id.indexOf("-")));

/**
 * Streams changes of `kinds`. Revisions are consecutive (every INCR has its XADD), so an entry
 * whose revision is not cursor+1 means the stream was trimmed past us (or the data was lost):
 * we send a fresh `init` rather than guess. A reconnect of the watch connection does the same.
 */
export function startRedisFeed(o: RedisFeedOptions): { close(): void } {
  const { keys, log } = o;
  const kindSet = new Set<string>(o.kinds);
  const kindList = [...kindSet];
  const reader = createRedisClient(o.conn, { log, blocking: true });
  const backoff = createBackoff({ baseMs: 100, maxMs: 2000 });
  const blockMs = o.blockMs ?? 1000;
  let stopped = false;
  let epoch = 0; // bumped whenever the reader's connection drops
  reader.on("close", () => epoch++);
  reader.on("-node", () => epoch++);

  const emit = (e: WatchEvent) => {
    try {
      o.onEvent(e);
    } catch (err) {
      log.warn({ err: describeError(err) }, "registry watch handler threw");
    }
  };

  const snapshot = async (): Promise<number> => {
    const reply = (await o.scripts.snapshot(1 + kindList.length, keys.rev, ...kindList.map(keys.kind))) as [
      string,
      ...string[][],
    ];
    const now = o.clock.now();
    const resources: Resource[] = [];
    kindList.forEach((kind, i) => {
      const flat = reply[i + 1] as string[];
      for (let j = 0; j + 1 < flat.length; j += 2) {
        const r = o.decodeStored(kind, flat[j]!, flat[j + 1]!, now);
        if (r) resources.push(r);
      }
    });
    emit({ type: "init", resources });
    return Number(reply[0]);
  };

  const run = async () => {
    let cursor = -1;
    let seenEpoch = -1;
    let failures = 0;
    /** Empty XREAD replies in a row while the counter was past our cursor (see below). */
    let unanswered = 0;
    while (!stopped) {
      try {
        if (cursor < 0 || seenEpoch !== epoch) {
          seenEpoch = epoch;
          unanswered = 0;
          cursor = await snapshot();
        }
        const startEpoch = epoch;
        const reply = (await reader.xread(
          "COUNT",
          1000,
          "BLOCK",
          blockMs,
          "STREAMS",
          keys.changes,
          `${cursor}-0`,
        )) as XReadReply;
        failures = 0;
        if (stopped) return;
        if (epoch !== startEpoch) continue; // reconnected mid-read: re-snapshot
        if (!reply) {
          // Idle: make sure the counter did not go backwards (data flushed or lost in a failover)
          // while our connection stayed up; new revisions below our cursor would be invisible.
          const rev = Number((await o.client.get(keys.rev)) ?? 0);
          if (rev < cursor) {
            log.info({ cursor }, "registry revision counter went backwards; sending a fresh snapshot");
            cursor = -1;
          } else if (rev > cursor && ++unanswered >= 3) {
            // XREADs sent after the counter was seen past our cursor (Redis answers such a read at
            // once) came back empty twice: ioredis's blockingTimeout resolved them, so the
            // connection is dead without a close (its peer gone silently). Without this the watch
            // would stay idle forever, its holder's view stale (roles, clusters). Reconnect, read afresh.
            log.warn({ cursor, rev }, "registry watch connection stopped answering; reconnecting it");
            reader.disconnect(true);
            cursor = -1;
          } else if (rev === cursor) unanswered = 0;
          continue;
        }
        unanswered = 0;
        for (const [id, fields] of reply?.[0]?.[1] ?? []) {
          const rev = revOf(id);
          if (rev !== cursor + 1) {
            log.info(
              { cursor, next: rev },
              "registry watch found a gap in the change stream; sending a fresh snapshot",
            );
            cursor = -1;
            break;
          }
          cursor = rev;
          const f: Record<string, string> = {};
          for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
          if (!f.kind || !kindSet.has(f.kind) || !f.name) continue;
          if (f.op === "delete")
            emit({ type: "delete", kind: f.kind as Kind, name: f.name, revision: String(rev) });
          else if (f.json !== undefined) {
            const r = decodeResource(f.json, { kind: f.kind, name: f.name, revision: rev }, log);
            if (r) emit({ type: "put", resource: r });
          }
        }
      } catch (err) {
        if (stopped) return;
        o.onError?.(err);
        cursor = -1;
        await Bun.sleep(backoff(failures++));
      }
    }
  };
  run().catch((err) => log.error({ err: describeError(err) }, "registry watch stopped unexpectedly"));

  return {
    close() {
      stopped = true;
      reader.disconnect();
    },
  };
}
