import { describe, expect, test } from "bun:test";
import type { Lock, LockTarget } from "../../registry/index.ts";
import { lockInForce, lockMatches, lockMessage } from "./locks.ts";

const lock = (target: LockTarget, extra: Partial<Lock["metadata"]> = {}, message?: string): Lock => ({
  kind: "lock",
  version: "v1",
  metadata: { name: "l", ...extra },
  spec: { target, ...(message ? { message } : {}) },
});
const alice = { user: "alice", roles: ["dev", "ops"], cluster: "prod" };

describe("lockMatches", () => {
  test.each([
    ["the user", { user: "alice" }, true],
    ["another user", { user: "bob" }, false],
    ["a role the user holds", { role: "ops" }, true],
    ["a role the user does not hold", { role: "admin" }, false],
    ["the cluster", { cluster: "prod" }, true],
    ["another cluster", { cluster: "dev" }, false],
    ["user and cluster, both matching", { user: "alice", cluster: "prod" }, true],
    ["user and cluster, the cluster not matching", { user: "alice", cluster: "dev" }, false],
    ["nothing at all (cannot be stored; one found anyway locks everyone)", {}, true],
  ] as [string, LockTarget, boolean][])("a lock on %s → %p", (_what, target, expected) => {
    expect(lockMatches(lock(target), alice)).toBe(expected);
  });
});

describe("lockInForce", () => {
  const now = Date.parse("2026-12-01T12:00:00Z");
  test("skips an expired lock and finds one in force", () => {
    const expired = lock({ user: "alice" }, { name: "old", expires: "2026-12-01T11:59:59Z" });
    const live = lock({ role: "dev" }, { name: "new", expires: "2026-12-01T12:00:01Z" });
    expect(lockInForce([expired], alice, now)).toBeUndefined();
    expect(lockInForce([expired, live], alice, now)?.metadata.name).toBe("new");
    expect(lockInForce([], alice, now)).toBeUndefined();
  });
});

test("lockMessage says what the lock targets and why, in Teleport's words", () => {
  expect(lockMessage(lock({ user: "alice", cluster: "prod" }, {}, " laptop stolen "))).toBe(
    'lock targeting user "alice", cluster "prod" is in force: laptop stolen',
  );
  expect(lockMessage(lock({ role: "dev" }))).toBe('lock targeting role "dev" is in force');
});
