// The registry: resource store, watch, leader lock and audit stream, on SQLite or Redis.
import type { RedisBackendOptions } from "./redis/redis-backend.ts";
import type { Backend } from "./types.ts";

export { type CreateBackendOptions, createBackend } from "./create-backend.ts";
export { createLeaderElector, type LeaderElector, type LeaderElectorOptions } from "./leader.ts";
export type { RedisBackendOptions } from "./redis/redis-backend.ts";
export {
  expiresAt,
  internalKind,
  isKind,
  MAX_RESOURCE_BYTES,
  resourceProblems,
  resourceSubject,
  resourceWarnings,
  validateResource,
} from "./resources.ts";
export { openSqliteBackend, type SqliteBackend, type SqliteBackendOptions } from "./sqlite/sqlite-backend.ts";
export type * from "./types.ts";
export { KINDS } from "./types.ts";

/**
 * Opens a Redis registry. The Redis backend (ioredis, and node:net and node:tls under it) is loaded on
 * the first call, not with this module: a start on SQLite never evaluates it (cold start).
 */
export function openRedisBackend(opts: RedisBackendOptions): Backend {
  const redis = require("./redis/redis-backend.ts") as typeof import("./redis/redis-backend.ts");
  return redis.openRedisBackend(opts);
}
