// ioredis clients for standalone, Sentinel and Cluster: retry forever, fail calls fast during an outage.

import type { ConnectionOptions } from "node:tls";
import type { ClusterOptions, RedisOptions } from "ioredis";
import { Cluster, Redis } from "ioredis";
import type { StorageConfig } from "../../config/index.ts";
import { badParameter } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log.ts";
import { readCertificates, readKeyPair } from "../../lib/pem-files.ts";
import { readSecretFile } from "../../lib/secret-file.ts";

export type RedisClient = Redis | Cluster;

/** Where Redis is (url, sentinels + name, or cluster_nodes) and how to log in: the config's storage fields, as documented there. */
export type RedisConnectionConfig = Pick<
  StorageConfig,
  | "url"
  | "sentinels"
  | "name"
  | "cluster_nodes"
  | "username"
  | "password"
  | "password_file"
  | "sentinel_username"
  | "sentinel_password"
  | "sentinel_password_file"
  | "tls"
>;

/** Reconnect delays: 50 ms doubling to a 2 s cap, with jitter; never gives up. */
export const retryDelay = (times: number): number =>
  Math.min(2000, 50 * 2 ** Math.min(times, 6)) + Math.floor(Math.random() * 100);

export function hostPort(addr: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(addr.trim());
  if (!m) throw badParameter(`redis address ${JSON.stringify(addr)} must be host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

/** Where the config points, for log lines ("waiting for redis at …"). */
export function describeTarget(cfg: RedisConnectionConfig): string {
  const tls = cfg.tls && !cfg.url?.startsWith("rediss:") ? " (tls)" : "";
  if (cfg.cluster_nodes?.length) return `cluster ${cfg.cluster_nodes.join(",")}${tls}`;
  if (cfg.sentinels?.length) return `sentinel ${cfg.sentinels.join(",")} (master ${cfg.name})${tls}`;
  return (cfg.url ?? "").replace(/\/\/[^@/]*@/, "//***@") + tls;
}

/** storage.tls as node:tls options, the files read and checked now (a bad one names its config key). */
export function tlsOptions(cfg: RedisConnectionConfig): ConnectionOptions | undefined {
  const t = cfg.tls;
  if (!t) return cfg.url?.startsWith("rediss:") ? {} : undefined;
  const at = (key: string, path: string) => ({ key: `kubeport.storage.tls.${key}`, path });
  return {
    ...(t.ca_file ? { ca: readCertificates(at("ca_file", t.ca_file), "CA bundle") } : {}),
    ...(t.server_name ? { servername: t.server_name } : {}),
    ...(t.cert_file && t.key_file
      ? readKeyPair(at("cert_file", t.cert_file), at("key_file", t.key_file))
      : {}),
  };
}

export interface ClientOptions {
  log: Logger;
  /** Overrides for a dedicated (blocking) connection. */
  blocking?: boolean;
}

/** A password given in the config, or read from its `*_file` (a mounted Secret) each time a client is made. */
function secret(value: string | undefined, fileKey: string, file: string | undefined): string | undefined {
  return value ?? (file ? readSecretFile(`kubeport.storage.${fileKey}`, file) : undefined);
}

/** Credentials, TLS and the connect timeout every connection shares. */
export function connectionOptions(cfg: RedisConnectionConfig): RedisOptions {
  const tls = tlsOptions(cfg);
  const password = secret(cfg.password, "password_file", cfg.password_file);
  return {
    // Only when set: an explicit undefined would hide credentials given in the URL.
    ...(cfg.username ? { username: cfg.username } : {}),
    ...(password ? { password } : {}),
    connectTimeout: 2000,
    ...(tls ? { tls } : {}),
  };
}

/** The Sentinel settings of a Sentinel config (a master group and how to reach its Sentinels). */
export function sentinelOptions(cfg: RedisConnectionConfig): RedisOptions {
  if (!cfg.name)
    throw badParameter("storage.name: the Sentinel master group name is required with storage.sentinels");
  const tls = tlsOptions(cfg);
  const sentinelPassword = secret(
    cfg.sentinel_password,
    "sentinel_password_file",
    cfg.sentinel_password_file,
  );
  return {
    sentinels: (cfg.sentinels ?? []).map(hostPort),
    name: cfg.name,
    role: "master",
    ...(cfg.sentinel_username ? { sentinelUsername: cfg.sentinel_username } : {}),
    ...(sentinelPassword ? { sentinelPassword } : {}),
    // TLS reaches the sentinels and the master they name alike.
    ...(tls ? { sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
  };
}

/** Creates a client; it connects in the background and reconnects forever, logging errors at most every 5 s. */
export function createRedisClient(
  cfg: RedisConnectionConfig,
  { log, blocking = false }: ClientOptions,
): RedisClient {
  const common: RedisOptions = {
    ...connectionOptions(cfg),
    // Calls made during an outage fail after one reconnect attempt instead of hanging.
    maxRetriesPerRequest: 1,
    // A master demoted by a failover answers READONLY: reconnect (Sentinel finds the new one) and resend.
    reconnectOnError: (err) => (err.message.includes("READONLY") ? 2 : false),
    ...(blocking
      ? { autoResendUnfulfilledCommands: false, blockingTimeout: 5000 }
      : { commandTimeout: 5000 }),
    // A connection that gets no byte back for 10 s while commands wait is dead without a close (its
    // peer gone silently: a dropped NAT entry, a proxy that lost its backend side): destroyed, so the
    // client connects again. commandTimeout only fails each call, for as long as TCP takes to give up
    // (about 15 minutes); blockingTimeout answers a blocked read with "nothing new".
    socketTimeout: 10_000,
  };
  const tls = common.tls;
  let client: RedisClient;
  if (cfg.cluster_nodes?.length) {
    const opts: ClusterOptions = {
      scaleReads: "master",
      clusterRetryStrategy: retryDelay,
      enableOfflineQueue: true,
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      slotsRefreshTimeout: 2000,
      redisOptions: { ...common, retryStrategy: undefined } as ClusterOptions["redisOptions"],
      // With TLS, dial the seed host names as written instead of the IPs ioredis would resolve them
      // to: certificates name hosts (ElastiCache/MemoryDB), and an IP would not match them.
      ...(tls
        ? { dnsLookup: (address: string, done: (err: null, a: string) => void) => done(null, address) }
        : {}),
    };
    client = new Cluster(cfg.cluster_nodes.map(hostPort), opts);
  } else if (cfg.sentinels?.length) {
    client = new Redis({
      ...common,
      ...sentinelOptions(cfg),
      failoverDetector: true,
      retryStrategy: retryDelay,
      sentinelRetryStrategy: retryDelay,
    });
  } else if (cfg.url) {
    client = new Redis(cfg.url, { ...common, retryStrategy: retryDelay });
  } else {
    throw badParameter("storage: redis needs url, sentinels + name, or cluster_nodes");
  }
  let lastLogged = 0;
  client.on("error", (err: Error) => {
    connectionErrors.set(client, err);
    const now = Date.now();
    if (now - lastLogged < 5000) return;
    lastLogged = now;
    log.warn({ target: describeTarget(cfg), err: err.message }, "redis connection error (retrying)");
  });
  client.on("ready", () => connectionErrors.delete(client));
  if (client instanceof Redis) restartAfterUnexpectedEnd(client, log, describeTarget(cfg));
  return client;
}

/**
 * ioredis ends a Sentinel client for good ("Connection is closed." on every call, no reconnect)
 * when its failover detector sees +switch-master while a reconnect is asking a Sentinel where the
 * master is: the detector's disconnect makes that connect attempt fail, and a failed connect
 * attempt ends the client instead of retrying. Under load that window is wide enough to hit after
 * a failover (test/ha/redis-faults.test.ts, Sentinel: a gateway's /readyz stayed 503). A client we
 * did not close is connected again, so "reconnects forever" holds.
 */
function restartAfterUnexpectedEnd(client: Redis, log: Logger, target: string): void {
  let closing = false;
  for (const method of ["disconnect", "quit"] as const) {
    const original = client[method].bind(client) as (...a: unknown[]) => unknown;
    (client as unknown as Record<string, unknown>)[method] = (...a: unknown[]) => {
      if (method === "quit" || a[0] !== true) closing = true;
      return original(...a);
    };
  }
  let attempts = 0;
  client.on("end", () => {
    if (closing) return;
    log.warn({ target }, "redis client ended without being closed; connecting again");
    setTimeout(() => {
      if (!closing && client.status === "end") client.connect().catch(() => undefined);
    }, retryDelay(++attempts));
  });
  client.on("ready", () => {
    attempts = 0;
  });
}

const connectionErrors = new WeakMap<RedisClient, Error>();

/**
 * Why the client cannot reach Redis now (ECONNREFUSED, a DNS failure, …), while it is retrying.
 * A command failed during an outage only says "max retries per request" or "Connection is closed".
 */
export const connectionError = (client: RedisClient): Error | undefined => connectionErrors.get(client);
