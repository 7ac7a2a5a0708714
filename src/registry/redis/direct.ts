// The connection lock operations and durable writes use: one plain connection to the primary that
// holds the registry's slot, which never sends a command twice.
//
// ioredis replays commands by itself: its offline queue sends a command that already timed out
// once the connection is back, commands left unanswered by a dropped connection are resent after
// the reconnect, and the Cluster client retries a command whose connection closed. Harmless for
// reads; but a lock acquisition that ran late took the lock for a holder that had been told it
// failed. Here a pipeline is written once, on a ready connection, or not at all. One whose answer
// does not come in time is "uncertain" (it may have run), and its connection is dropped, so the
// next call starts on a fresh one (on a Cluster, to the slot's primary as known now).
import type { ChainableCommander, Cluster } from "ioredis";
import { Redis, type RedisOptions } from "ioredis";
import { unavailable, uncertain } from "../../lib/errors.ts";
import {
  connectionOptions,
  describeTarget,
  hostPort,
  type RedisClient,
  type RedisConnectionConfig,
  sentinelOptions,
} from "./client.ts";

export type PipelineResult = [Error | null, unknown][];

export interface DirectConnection {
  /**
   * Sends the pipeline `build` fills, once, within `timeoutMs`. Rejects with kind "unavailable"
   * when nothing ran (no primary reachable, or it refused: MOVED, READONLY, NOREPLICAS …; a
   * refusal is tried once more on the primary known now) and "uncertain" when it was sent and
   * no answer came. Otherwise resolves with every command's [error, reply].
   */
  exec(what: string, build: (p: ChainableCommander) => void, timeoutMs: number): Promise<PipelineResult>;
  /** "host:port" of the primary it is connected to, if any (for messages). */
  address(): string | undefined;
  close(): void;
}

/** Answers meaning the command did not run on this node: ask the primary known now instead. */
const NOT_RUN = /^(MOVED|ASK|READONLY|LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN)\b/;
/** Client-side errors after the pipeline was written: it may have run. */
const LOST = /Connection is closed|Command timed out/;
/** Client-side errors meaning the pipeline never reached the socket. */
const NOT_SENT = /Stream isn't writeable|enableOfflineQueue/;

/** CRC16/XMODEM of the hash tag: the Cluster slot every kubeport key lives in. */
export function clusterSlot(hashTag: string): number {
  let crc = 0;
  for (const byte of Buffer.from(hashTag)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** Resolves on `event` of `emitter`, or after `ms` (without an error: the caller looks at the state). */
function eventOrTimeout(emitter: Cluster, event: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      emitter.off(event, done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    emitter.once(event, done);
  });
}

/** The primary's address for `slot` as the Cluster client knows it, its slot map refreshed first. */
async function clusterPrimary(cluster: Cluster, slot: number, timeoutMs: number): Promise<string> {
  if (cluster.status !== "ready") await eventOrTimeout(cluster, "ready", timeoutMs);
  else
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      cluster.refreshSlotsCache(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  const key = cluster.slots[slot]?.[0];
  if (!key) throw unavailable(`no Redis Cluster node serves slot ${slot} (cluster down?)`);
  return key;
}

function whenReady(conn: Redis, ms: number): Promise<void> {
  if (conn.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const onError = (err: Error) => {
      lastError = err;
    };
    const done = (err?: Error) => {
      clearTimeout(timer);
      conn.off("ready", onReady);
      conn.off("end", onEnd);
      conn.off("error", onError);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const onEnd = () => done(lastError ?? new Error("connection closed"));
    const timer = setTimeout(() => done(lastError ?? new Error(`not ready within ${ms} ms`)), ms);
    conn.on("error", onError);
    conn.once("ready", onReady);
    conn.once("end", onEnd);
  });
}

export interface DirectConnectionOptions {
  cfg: RedisConnectionConfig;
  /** The shared client: on a Cluster, where the slot's primary is. */
  shared: RedisClient;
  /** The hash tag of every key ("{kubeport}"). */
  hashTag: string;
}

/** A connection that sends each pipeline at most once; connects on first use. */
export function createDirectConnection({ cfg, shared, hashTag }: DirectConnectionOptions): DirectConnection {
  const target = describeTarget(cfg);
  const slot = clusterSlot(hashTag.replace(/^\{|\}$/g, ""));
  const base: RedisOptions = {
    ...connectionOptions(cfg),
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    reconnectOnError: () => false,
    // Never reconnects by itself: a broken connection is replaced on the next call.
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
  };
  let conn: Redis | undefined;
  let addr: string | undefined;
  let closed = false;

  const drop = () => {
    conn?.disconnect();
    conn = undefined;
    addr = undefined;
  };

  const open = async (ms: number): Promise<Redis> => {
    if (closed) throw unavailable("redis registry is closed");
    if (conn && conn.status !== "end" && conn.status !== "close") {
      await whenReady(conn, ms);
      return conn;
    }
    drop();
    let c: Redis;
    if (cfg.cluster_nodes?.length) {
      const key = await clusterPrimary(shared as Cluster, slot, Math.max(1, ms / 2));
      const { host, port } = hostPort(key);
      c = new Redis({ ...base, host, port });
      addr = key;
    } else if (cfg.sentinels?.length) {
      c = new Redis({ ...base, ...sentinelOptions(cfg) });
    } else {
      c = new Redis(cfg.url ?? "", base);
    }
    // Errors surface through the calls; without a listener ioredis prints each one.
    c.on("error", () => {});
    conn = c;
    await whenReady(c, ms);
    if (!addr) addr = `${c.options.host}:${c.options.port}`;
    return c;
  };

  return {
    address: () => addr,
    async exec(what, build, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      const left = () => Math.max(1, Math.round(deadline - performance.now()));
      for (let attempt = 0; ; attempt++) {
        let c: Redis;
        try {
          c = await open(left());
        } catch (err) {
          drop();
          throw unavailable(
            `${what}: redis primary at ${target} not reachable: ${(err as Error).message}`,
            err,
          );
        }
        const p = c.pipeline();
        build(p);
        let timer: ReturnType<typeof setTimeout> | undefined;
        let res: PipelineResult | null;
        try {
          res = await Promise.race([
            p.exec(),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), left());
            }),
          ]);
        } catch (err) {
          const where = addr;
          drop();
          throw uncertain(
            `${what}: sent to the redis primary ${where ?? target}, ${(err as Error).message}`,
            err,
          );
        } finally {
          clearTimeout(timer);
        }
        const first = res?.[0]?.[0];
        if (!res || (first && NOT_SENT.test(first.message))) {
          drop();
          throw unavailable(`${what}: redis primary at ${target} not reachable`, first ?? undefined);
        }
        if (first && NOT_RUN.test(first.message)) {
          drop();
          if (attempt === 0 && left() > 50) continue;
          throw unavailable(`${what}: redis at ${target} refused: ${first.message}`, first);
        }
        if (first && /^NOREPLICAS\b/.test(first.message))
          throw unavailable(
            `${what}: redis refused the write: no replica in sync (min-replicas-to-write); retry when a replica is back`,
            first,
          );
        if (first && LOST.test(first.message)) {
          const where = addr;
          drop();
          throw uncertain(
            `${what}: sent to the redis primary ${where ?? target}, then ${first.message}`,
            first,
          );
        }
        if (res.some(([e]) => e && LOST.test(e.message))) drop();
        return res;
      }
    },
    close() {
      closed = true;
      drop();
    },
  };
}
