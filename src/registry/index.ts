// The registry: resource store, watch, leader lock and audit stream, on SQLite or Redis.
export type * from "./types.ts";
export { KINDS } from "./types.ts";
export { validateResource, isKind, expiresAt } from "./resources.ts";
export { openSqliteBackend, type SqliteBackend, type SqliteBackendOptions } from "./sqlite/sqlite-backend.ts";
export { openRedisBackend, type RedisBackendOptions } from "./redis/redis-backend.ts";
export { createBackend, type CreateBackendOptions } from "./create-backend.ts";
export { createLeaderElector, type LeaderElector, type LeaderElectorOptions } from "./leader.ts";
