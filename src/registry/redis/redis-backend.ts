// The HA registry on Redis (standalone, Sentinel or Cluster): every write one Lua script under `{prefix}`.
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
import { decodeResource } from "../codec.ts";
import { expiresAt, validateResource } from "../resources.ts";
import {
  type Backend,
  KINDS,
  type Kind,
  type Lease,
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
import { startRedisFeed } from "./feed.ts";
import * as lua from "./scripts.ts";

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
   * With Sentinel or Cluster: after a write of a user, role, token, signing key or lock resource,
   * or a leader-lock acquisition, wait up to this long for one replica to have it (WAIT 1 ms). 0 = never wait.
   */
  replicaWaitMs?: number;
}

/**
 * What a failover must not lose: people's access, and the lock counter that keeps fencing
 * tokens unique. Discovery's own records (kube_cluster, status) are rewritten by the next poll.
 */
const DURABLE_KINDS: ReadonlySet<string> = new Set(["user", "role", "token", "signing_key", "lock"]);
/** At most one "not on a replica" warning this often. */
const REPLICA_WARN_EVERY_MS = 30_000;

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
    acquire: define("kubeportAcquire", 2, lua.ACQUIRE),
    renew: define("kubeportRenew", 2, lua.RENEW),
    release: define("kubeportRelease", 1, lua.RELEASE),
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
  replicaWaitMs = 200,
  ...conn
}: RedisBackendOptions): Backend {
  const target = describeTarget(conn);
  const client = createRedisClient(conn, { log });
  const keys = redisKeys(key_prefix);
  const scripts = defineScripts(client);
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
  // the replica that is promoted. WAIT narrows that window for the records that matter; a standalone
  // URL (for trying kubeport) has no replica to wait for.
  const waitMs = conn.cluster_nodes?.length || conn.sentinels?.length ? replicaWaitMs : 0;
  // WAIT blocks the connection it is sent on, and counts only that connection's own writes: the
  // writes that wait go on a connection of their own, so a lagging replica holds up only them, not
  // every read and discovery write queued behind them on the shared one.
  let durable: { client: RedisClient; scripts: ReturnType<typeof defineScripts> } | undefined;
  const durableConn = () => {
    if (waitMs <= 0) return { client, scripts };
    if (!durable) {
      const c = createRedisClient(conn, { log });
      durable = { client: c, scripts: defineScripts(c) };
    }
    return durable;
  };
  let lastReplicaWarning = 0;
  /** Never throws: the write itself succeeded; not knowing whether a replica has it is only a warning. */
  const onReplica = async (what: string) => {
    if (waitMs <= 0) return;
    let acked: unknown;
    let why: string | undefined;
    try {
      // One pipeline: on Cluster it goes to the node of our hash-tag slot, the connection that wrote.
      const res = await durableConn()
        .client.pipeline()
        .exists(keys.rev)
        .call("WAIT", "1", String(waitMs))
        .exec();
      const [err, n] = res?.[1] ?? [];
      if (err) why = err.message;
      acked = n;
    } catch (err) {
      why = (err as Error)?.message ?? String(err);
    }
    if (why === undefined && Number(acked) >= 1) return;
    const now = Date.now();
    if (now - lastReplicaWarning < REPLICA_WARN_EVERY_MS) return;
    lastReplicaWarning = now;
    log.warn(
      { target, what, wait_ms: waitMs, ...(why ? { err: why } : {}) },
      "registry write is not on any Redis replica yet (WAIT timed out): a failover now could lose it",
    );
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
    const via = DURABLE_KINDS.has(r.kind) ? durableConn().scripts : scripts;
    return call(`${r.kind} ${JSON.stringify(r.metadata.name)}`, async () => {
      const rev = await via.write(
        keys.rev,
        keys.kind(r.kind),
        keys.exp,
        keys.changes,
        keys.lockToken(fence?.lock ?? ""),
        mode,
        r.kind,
        r.metadata.name,
        json,
        expiresAt(r) ?? "",
        expected,
        fence ? String(fence.token) : "",
        clock.now(),
        changesMaxLen,
      );
      if (DURABLE_KINDS.has(r.kind)) await onReplica(`${r.kind} ${r.metadata.name}`);
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

    delete: (kind: Kind, name: string, opts?: WriteOptions) =>
      call(`${kind} ${JSON.stringify(name)}`, async () => {
        const fence = opts?.fence;
        const n = await (DURABLE_KINDS.has(kind) ? durableConn().scripts : scripts).del(
          keys.rev,
          keys.kind(kind),
          keys.exp,
          keys.changes,
          keys.lockToken(fence?.lock ?? ""),
          kind,
          name,
          fence ? String(fence.token) : "",
          clock.now(),
          changesMaxLen,
        );
        if (n === 1 && DURABLE_KINDS.has(kind)) await onReplica(`${kind} ${name}`);
        return n === 1;
      }),

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

    acquireLock: (lock: string, holder: string, ttlMs: number, previous?: number) =>
      call(`lock ${lock}`, async () => {
        const now = clock.now();
        const token = await durableConn().scripts.acquire(
          keys.lock(lock),
          keys.lockToken(lock),
          holder,
          Math.max(1, Math.round(ttlMs)),
          previous === undefined ? "" : String(previous),
        );
        if (token === null) return undefined;
        await onReplica(`lock ${lock}`);
        return { lock, holder, token: Number(token), expiresAt: now + ttlMs };
      }),

    renewLock: (lease: Lease, ttlMs: number) =>
      call(`lock ${lease.lock}`, async () => {
        const now = clock.now();
        const ok = await scripts.renew(
          keys.lock(lease.lock),
          keys.lockToken(lease.lock),
          lease.token,
          lease.holder,
          Math.max(1, Math.round(ttlMs)),
        );
        return ok === 1 ? { ...lease, expiresAt: now + ttlMs } : undefined;
      }),

    releaseLock: (lease: Lease) =>
      call(`lock ${lease.lock}`, async () => {
        await scripts.release(keys.lock(lease.lock), lease.token, lease.holder);
      }),

    append: (stream: string, entry: unknown) => backend.appendMany(stream, [entry]),

    appendMany: (stream: string, entries: readonly unknown[]) =>
      call(`stream ${stream}`, async () => {
        const rows = entries.map((entry) => {
          const json = JSON.stringify(entry);
          if (json === undefined) throw badParameter("stream entries must be JSON values");
          return json;
        });
        if (rows.length === 0) return;
        // One MULTI (same key, so one slot on Cluster): the batch lands whole or not at all.
        const tx = client.multi();
        for (const json of rows) tx.xadd(keys.stream(stream), "MAXLEN", "~", streamCap, "*", "e", json);
        const results = await tx.exec();
        if (!results) throw new Error("MULTI aborted");
        const failed = results.find(([err]) => err);
        if (failed) throw failed[0];
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
      durable?.client.disconnect();
    },
  };
  return backend;
}
