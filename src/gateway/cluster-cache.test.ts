import { expect, test } from "bun:test";
import { silentLogger } from "../lib/log.ts";
import { openSqliteBackend, type User } from "../registry/index.ts";
import { newSigningKey } from "./auth/signing-keys.ts";
import { type CacheChange, createClusterCache } from "./cluster-cache.ts";

const backend = openSqliteBackend({ path: ":memory:", pollMs: 10 });

const user = (name: string, created: string): User => ({
  kind: "user",
  version: "v1",
  metadata: { name },
  spec: { roles: ["dev"], created },
});

async function until(cond: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(5);
  }
}

test("follows users and locks, says what changed, and remembers removed users until re-created", async () => {
  const changes: CacheChange[] = [];
  const cache = createClusterCache({
    backend,
    selectors: [],
    log: silentLogger,
    onChange: (_c, change) => changes.push(change),
  });
  try {
    expect(await cache.whenInitialised()).toBe(true);
    await backend.put(user("alice", "2026-11-01T00:00:00.000Z"));
    await backend.put({
      kind: "lock",
      version: "v1",
      metadata: { name: "l1" },
      spec: { target: { user: "alice" } },
    });
    await until(() => cache.locks().length === 1 && cache.user("alice") !== undefined);
    expect(changes).toContainEqual({ kind: "lock", name: "l1" });
    expect(cache.removedUser("alice")).toBeUndefined();

    await backend.delete("user", "alice");
    await until(() => cache.user("alice") === undefined);
    expect(cache.removedUser("alice")).toBe("2026-11-01T00:00:00.000Z");
    expect(changes.at(-1)).toEqual({ kind: "user", name: "alice" });

    await backend.put(user("alice", "2026-11-02T00:00:00.000Z"));
    await until(() => cache.user("alice") !== undefined);
    expect(cache.removedUser("alice")).toBeUndefined();
  } finally {
    cache.close();
    await backend.close();
  }
});

const S1 = "a".repeat(64);

test("remembers login sessions it saw deleted (kubeport logout), and says which", async () => {
  const sessions = openSqliteBackend({ path: ":memory:", pollMs: 10 });
  const changes: CacheChange[] = [];
  let identityChanges = 0;
  const cache = createClusterCache({
    backend: sessions,
    selectors: [],
    log: silentLogger,
    onChange: (_c, change) => changes.push(change),
    onIdentityChange: () => identityChanges++,
  });
  try {
    expect(await cache.whenInitialised()).toBe(true);
    await sessions.put({
      kind: "login_session",
      version: "v1",
      metadata: { name: S1, expires: new Date(Date.now() + 3_600_000).toISOString() },
      spec: { user: "alice", source: "local", client: "cli", created: new Date().toISOString() },
    });
    await until(() => changes.some((c) => c.kind === "login_session"));
    expect(cache.endedSession(S1)).toBe(false);
    const before = identityChanges;

    await sessions.delete("login_session", S1);
    await until(() => cache.endedSession(S1));
    expect(changes.at(-1)).toEqual({ kind: "login_session", name: S1 });
    // The verified-token cache is dropped: the session's tokens open nothing more.
    expect(identityChanges).toBeGreaterThan(before);
    expect(cache.endedSession("b".repeat(64))).toBe(false);
  } finally {
    cache.close();
    await sessions.close();
  }
});

test("follows signing keys by kid and remembers the kids of keys it saw deleted", async () => {
  const registry = openSqliteBackend({ path: ":memory:", pollMs: 10 });
  const changes: CacheChange[] = [];
  const cache = createClusterCache({
    backend: registry,
    selectors: [],
    log: silentLogger,
    onChange: (_c, change) => changes.push(change),
  });
  try {
    expect(await cache.whenInitialised()).toBe(true);
    const key = await newSigningKey("sk-000001", Date.now());
    const kid = String(key.spec.public_jwk.kid);
    await registry.put(key);
    await until(() => cache.signingKey(kid) !== undefined);
    expect(cache.removedKey(kid)).toBe(false);

    await registry.delete("signing_key", "sk-000001");
    await until(() => cache.signingKey(kid) === undefined);
    expect(cache.removedKey(kid)).toBe(true);
    expect(changes.at(-1)).toEqual({ kind: "signing_key", name: "sk-000001" });
    // A kid never seen is not "removed": a key made moments ago elsewhere keeps its streams.
    expect(cache.removedKey("never-seen")).toBe(false);
  } finally {
    cache.close();
    await registry.close();
  }
});
