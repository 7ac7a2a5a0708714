// The registry: resource store, watch, leader lock and audit stream, on SQLite or Redis.

export { type CreateBackendOptions, createBackend } from "./create-backend.ts";
export { createLeaderElector, type LeaderElector, type LeaderElectorOptions } from "./leader.ts";
export { openRedisBackend, type RedisBackendOptions } from "./redis/redis-backend.ts";
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
