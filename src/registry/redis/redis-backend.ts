// The HA registry on Redis (standalone, Sentinel or Cluster): every write one Lua script under `{prefix}`.
import { type Clock, systemClock } from "../../lib/clock.ts";
import {
  alreadyExists,
  badParameter,
  compareFailed,
  fenced,
  isKind,
  KubeportError,
  unavailable,
  uncertain,
} from "../../lib/errors.ts";
import { type Logger, silentLogger } from "../../lib/log.ts";
import { decodeResource } from "../codec.ts";
import { expiresAt, validateResource } from "../resources.ts";
import {
  type AppendOptions,
  type Backend,
  KINDS,
  type Kind,
  type Resource,
  type WatchEvent,
  type Watcher,
  type WatchOptions,
  type WriteOptions,
} from "../types.ts";
import {
  connectionError,
  createRedisClient,
  describeTarget,
  type RedisClient,
  type RedisConnectionConfig,
} from "./client.ts";
import { createDirectConnection } from "./direct.ts";
import { startRedisFeed } from "./feed.ts";
import { createRedisLocks, leaseValue } from "./locks.ts";
import * as lua from "./scripts.ts";
import { checkRedisSettings } from "./settings.ts";
import { defineStreamAppend } from "./stream-append.ts";

export interface RedisBackendOptions extends RedisConnectionConfig {
  /** Every key lives under the hash tag `{key_prefix}`. */
  key_prefix?: string;
  log?: Logger;
  clock?: Clock;
  /** Approximate cap of the change stream (XADD MAXLEN ~). */
  changesMaxLen?: number;
  /** Approximate cap of each audit stream. */
  streamCap?: number;
  sweepMs?: number;
  /**
   * With Sentinel or Cluster: how long a durable write waits for one replica to acknowledge it
   * (WAIT 1 ms) before it is reported "uncertain" instead of done.
   */
  replicaWaitMs?: number;
  /**
   * How many replicas must acknowledge a durable write or a lease (WAIT n): default 1 with
   * Sentinel or Cluster, 0 (nothing confirmed) with a url. storage.replica_acks in the config.
   */
  replica_acks?: number;
}

/**
 * Records rewritten all the time by their one writer, which need no confirmation: the instance
 * heartbeat, and discovery's status. Every other write not made under a lease (a person's `ctl`
 * command, a signing key) is durable; a fenced write is discovery's own, redone by the next poll.
 */
const REWRITTEN_KINDS: ReadonlySet<string> = new Set(["instance", "discovery_status"]);
const isDurable = (kind: string, opts?: WriteOptions) => !opts?.fence && !REWRITTEN_KINDS.has(kind);

/** Key names; all share one hash tag so multi-key scripts work on Cluster. */
export function redisKeys(prefix: string) {
  const base = `{${prefix}}`;
  return {
    rev: `${base}:rev`,
    exp: `${base}:exp`,
    changes: `${base}:changes`,
    kind: (k: string) => `${base}:r:${k}`,
    lock: (l: string) => `${base}:lock:${l}`,
    lockToken: (l: string) => `${base}:locktok:${l}`,
    stream: (s: string) => `${base}:s:${s}`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/** Registers the Lua scripts (EVALSHA with EVAL fallback) and returns callers for them. */
function defineScripts(client: RedisClient) {
  const define = (name: string, keys: number | undefined, script: string): ScriptFn => {
    client.defineCommand(name, keys === undefined ? { lua: script } : { numberOfKeys: keys, lua: script });
    const fn = (client as unknown as Record<string, ScriptFn>)[name]!;
    return (...args) => fn.apply(client, args);
  };
  return {
    write: define("kubeportWrite", 5, lua.WRITE),
    del: define("kubeportDelete", 5, lua.DELETE),
    sweep: define("kubeportSweep", undefined, lua.SWEEP),
    snapshot: define("kubeportSnapshot", undefined, lua.SNAPSHOT),
  };
}
export type RedisScripts = ReturnType<typeof defineScripts>;

/** Splits a stored "<revision>:<json>" value. */
export function splitStored(value: string): { rev: string; json: string } | undefined {
  const i = value.indexOf(":");
  return i > 0 ? { rev: value.slice(0, i), json: value.slice(i + 1) } : undefined;
}

/** Opens a Redis backend; it connects in the background (see createBackend for waiting until it answers). */
export function openRedisBackend({
  key_prefix = "kubeport",
  log = silentLogger,
  clock = systemClock,
  changesMaxLen = 100_000,
  streamCap = 100_000,
  sweepMs = 1000,
  replicaWaitMs = 1000,
  replica_acks,
  ...conn
}: RedisBackendOptions): Backend {
  const target = describeTarget(conn);
  const client = createRedisClient(conn, { log });
  const keys = redisKeys(key_prefix);
  const scripts = defineScripts(client);
  const appendStream = defineStreamAppend(client, keys.stream);
  const watchers = new Set<Watcher>();
  let closed = false;

  /** Maps our script errors to typed errors and everything else (connection, timeout) to `unavailable`. */
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    if (closed) throw unavailable("redis registry is closed");
    try {
      return await fn();
    } catch (err) {
      if (err instanceof KubeportError) throw err;
      const msg = (err as Error)?.message ?? String(err);
      if (msg.startsWith("FENCED ")) throw fenced(`${what}: ${msg.slice(7)}`);
      if (msg.startsWith("EXISTS ")) throw alreadyExists(`${what} ${msg.slice(7)}`);
      if (msg.startsWith("COMPARE ")) throw compareFailed(`${what} ${msg.slice(8)}`);
      const cause = connectionError(client);
      if (cause && /max retries per request|Connection is closed|Stream isn't writeable/i.test(msg))
        throw unavailable(`redis at ${target} not reachable`, cause);
      throw unavailable(`redis at ${target}: ${msg}`, err);
    }
  };

  const decodeStored = (
    kind: string,
    name: string,
    value: string | null | undefined,
    now: number,
  ): Resource | undefined => {
    if (value === null || value === undefined) return undefined;
    const parts = splitStored(value);
    if (!parts) {
      log.warn({ kind, name }, "skipping corrupt registry record");
      return undefined;
    }
    const r = decodeResource(parts.json, { kind, name, revision: parts.rev }, log);
    const exp = r ? expiresAt(r) : undefined;
    return r && (exp === undefined || exp > now) ? r : undefined;
  };

  const sweep = async () => {
    await scripts.sweep(
      3 + KINDS.length,
      keys.rev,
      keys.exp,
      keys.changes,
      ...KINDS.map(keys.kind),
      clock.now(),
      changesMaxLen,
      ...KINDS,
    );
  };
  const sweeper = setInterval(() => {
    if (client.status !== "ready") return;
    sweep().catch((err) => log.debug({ err: (err as Error).message }, "registry sweep failed"));
  }, sweepMs);
  sweeper.unref?.();

  // Replication is asynchronous: a write acknowledged just before the primary dies may never reach
  // the replica that is promoted. Lock operations and durable writes go on a connection of their own
  // that never replays a command (direct.ts), and each is confirmed by a replica (WAIT) before it is
  // believed; a standalone URL (for trying kubeport) has no replica to wait for. WAIT blocks the
  // connection it is sent on, so a lagging replica holds up only these, never reads or discovery.
  const acks = replica_acks ?? (conn.cluster_nodes?.length || conn.sentinels?.length ? 1 : 0);
  const confirm = acks > 0;
  const direct = createDirectConnection({ cfg: conn, shared: client, hashTag: `{${key_prefix}}` });
  const locks = createRedisLocks({ direct, keys, acks });

  /** Runs a write script on the direct connection; its reply once `acks` replicas have it (WAIT). */
  const durably = async (
    subject: { kind: string; name: string },
    script: string,
    numKeys: number,
    args: (string | number)[],
  ) => {
    const what = `${subject.kind} ${JSON.stringify(subject.name)}`;
    const res = await direct
      .exec(
        what,
        (p) => {
          p.eval(script, numKeys, ...args);
          if (confirm) p.call("WAIT", String(acks), String(replicaWaitMs));
        },
        replicaWaitMs + 5000,
      )
      .catch((err) => {
        // Sent, and its answer lost: the hint to check names the record.
        if (isKind(err, "uncertain")) err.subject ??= subject;
        throw err;
      });
    const [err, reply] = res[0]!;
    if (err) throw err;
    if (!confirm) return reply;
    const [waitErr, acked] = res[1] ?? [new Error("no WAIT answer")];
    if (waitErr || Number(acked) < acks)
      throw uncertain(
        `${what}: written to the Redis primary, but ${acks === 1 ? "no replica" : `fewer than ${acks} replicas`} acknowledged it within ${replicaWaitMs} ms${
          waitErr ? ` (${waitErr.message})` : ""
        }, so a failover now could lose it`,
        waitErr ?? undefined,
        subject,
      );
    return reply;
  };

  const write = (mode: "put" | "create" | "cas", resource: Resource, opts?: WriteOptions) => {
    const r = validateResource(resource);
    const expected = r.metadata.revision ?? "";
    if (mode === "cas" && !expected)
      throw badParameter(
        `${r.kind} ${JSON.stringify(r.metadata.name)}: compareAndSwap needs metadata.revision`,
      );
    const { revision: _drop, ...metadata } = r.metadata;
    const json = JSON.stringify({ ...r, metadata });
    const fence = opts?.fence;
    const what = `${r.kind} ${JSON.stringify(r.metadata.name)}`;
    const args = [
      keys.rev,
      keys.kind(r.kind),
      keys.exp,
      keys.changes,
      keys.lock(fence?.lock ?? ""),
      mode,
      r.kind,
      r.metadata.name,
      json,
      expiresAt(r) ?? "",
      expected,
      fence ? leaseValue(fence) : "",
      clock.now(),
      changesMaxLen,
    ];
    return call(what, async () => {
      const rev = isDurable(r.kind, opts)
        ? await durably({ kind: r.kind, name: r.metadata.name }, lua.WRITE, 5, args)
        : await scripts.write(...args);
      return { ...r, metadata: { ...metadata, revision: String(rev) } } as Resource;
    });
  };

  const backend: Backend = {
    name: "redis",

    get: (kind: Kind, name: string) =>
      call("get", async () =>
        decodeStored(kind, name, await client.hget(keys.kind(kind), name), clock.now()),
      ),

    list: (kind: Kind, opts?: { prefix?: string }) =>
      call("list", async () => {
        const all = await client.hgetall(keys.kind(kind));
        const now = clock.now();
        const out: Resource[] = [];
        for (const [name, value] of Object.entries(all)) {
          if (opts?.prefix && !name.startsWith(opts.prefix)) continue;
          const r = decodeStored(kind, name, value, now);
          if (r) out.push(r);
        }
        return out.sort((x, y) =>
          x.metadata.name < y.metadata.name ? -1 : x.metadata.name > y.metadata.name ? 1 : 0,
        );
      }),

    put: async (r, opts) => write("put", r, opts),
    create: async (r, opts) => write("create", r, opts),
    compareAndSwap: async (r, opts) => write("cas", r, opts),

    delete: (kind: Kind, name: string, opts?: WriteOptions) => {
      const what = `${kind} ${JSON.stringify(name)}`;
      const fence = opts?.fence;
      const args = [
        keys.rev,
        keys.kind(kind),
        keys.exp,
        keys.changes,
        keys.lock(fence?.lock ?? ""),
        kind,
        name,
        fence ? leaseValue(fence) : "",
        clock.now(),
        changesMaxLen,
      ];
      return call(what, async () => {
        const n = isDurable(kind, opts)
          ? await durably({ kind, name }, lua.DELETE, 5, args)
          : await scripts.del(...args);
        return n === 1;
      });
    },

    watch(opts: WatchOptions, onEvent: (e: WatchEvent) => void, onError?: (err: unknown) => void): Watcher {
      const feed = startRedisFeed({
        conn,
        client,
        scripts,
        keys,
        kinds: opts.kinds,
        log,
        clock,
        onEvent,
        onError,
        decodeStored,
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

    acquireLock: (lock, holder, ttlMs, session) =>
      call(`lock ${lock}`, () => locks.acquireLock(lock, holder, ttlMs, session)),
    renewLock: (lease, ttlMs) => call(`lock ${lease.lock}`, () => locks.renewLock(lease, ttlMs)),
    releaseLock: (lease) => call(`lock ${lease.lock}`, () => locks.releaseLock(lease)),

    checkSettings: () => checkRedisSettings({ direct, acks }),

    append: (stream: string, entry: unknown) => backend.appendMany(stream, [entry]),

    appendMany: (stream: string, entries: readonly unknown[], opts?: AppendOptions) =>
      call(`stream ${stream}`, async () => {
        const rows = opts?.encoded
          ? (entries as string[])
          : entries.map((entry) => {
              const json = JSON.stringify(entry);
              if (json === undefined) throw badParameter("stream entries must be JSON values");
              return json;
            });
        if (rows.length === 0) return;
        // One script (its keys share the hash tag: one Cluster slot): the batch lands whole, then
        // the retention applies (stream-append.ts).
        await appendStream(
          stream,
          rows,
          opts?.owners,
          opts?.retention ?? { maxAgeMs: 0, maxEntries: streamCap },
          clock.now(),
        );
      }),

    readStream: (stream: string, opts?: { after?: string; limit?: number }) =>
      call(`stream ${stream}`, async () => {
        if (opts?.after !== undefined && !/^\d+-\d+$/.test(opts.after))
          throw badParameter(`stream id ${JSON.stringify(opts.after)} is not a stream id`);
        const start = opts?.after ? `(${opts.after}` : "-";
        const rows = await client.xrange(keys.stream(stream), start, "+", "COUNT", opts?.limit ?? 1000);
        const out: { id: string; entry: unknown }[] = [];
        for (const [id, fields] of rows) {
          try {
            out.push({ id, entry: JSON.parse(fields[1] ?? "") });
          } catch {
            log.warn({ stream, id }, "skipping corrupt stream entry");
          }
        }
        return out;
      }),

    ping: () =>
      call("ping", async () => {
        await client.ping();
      }),

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      for (const w of [...watchers]) w.close();
      client.disconnect();
      direct.close();
    },
  };
  return backend;
}
