import { describe, expect, test } from "bun:test";
import { silentLogger } from "../../lib/log.ts";
import type { Identity } from "../identity.ts";
import type { Revocation, StreamSubject } from "./access-check.ts";
import { createRevoker } from "./revoker.ts";

const id = (user: string, expiresAt?: number): Identity => ({
  user,
  roles: [],
  source: "kubeport",
  issuer: "kubeport",
  ...(expiresAt !== undefined ? { expiresAt } : {}),
});
const revoked: Revocation = { code: 403, cause: "lock", message: "locked" };

/** A revoker whose check refuses whatever is in `refuse` (by user or cluster), recording every check. */
function setup(disconnectExpired = true) {
  const refuse = new Set<string>();
  const checked: string[] = [];
  const ended: [string, Revocation][] = [];
  const revoker = createRevoker({
    check: (s: StreamSubject) => {
      checked.push(`${s.identity.user}@${s.cluster}`);
      return refuse.has(s.identity.user) || refuse.has(s.cluster) ? revoked : undefined;
    },
    disconnectExpired,
    log: silentLogger,
  });
  const open = (user: string, cluster: string, expiresAt?: number) =>
    revoker.track({ kind: "exec", identity: id(user, expiresAt), cluster }, (r) =>
      ended.push([`${user}@${cluster}`, r]),
    );
  return { revoker, refuse, checked, ended, open };
}

async function until(cond: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(5);
  }
}

describe("createRevoker", () => {
  test("checks a stream as it registers: one that lost access while it was set up ends at once", () => {
    const { revoker, refuse, ended, open } = setup();
    refuse.add("alice");
    open("alice", "c1");
    expect(ended).toEqual([["alice@c1", revoked]]);
    expect(revoker.size()).toBe(0);
  });

  test("a recheck touches only its scope and ends each stream once", () => {
    const { revoker, refuse, checked, ended, open } = setup();
    open("alice", "c1");
    open("alice", "c2");
    open("bob", "c1");
    checked.length = 0;

    revoker.recheck({ user: "alice" });
    expect(checked.sort()).toEqual(["alice@c1", "alice@c2"]);
    checked.length = 0;
    revoker.recheck({ cluster: "c1" });
    expect(checked.sort()).toEqual(["alice@c1", "bob@c1"]);

    refuse.add("c1");
    revoker.recheck("all");
    revoker.recheck("all");
    expect(ended.map(([s]) => s).sort()).toEqual(["alice@c1", "bob@c1"]);
    expect(revoker.size()).toBe(1);
  });

  test("a stream that ended by itself is forgotten", () => {
    const { revoker, refuse, ended, open } = setup();
    const done = open("alice", "c1");
    done();
    done();
    refuse.add("alice");
    revoker.recheck("all");
    expect(ended).toEqual([]);
    expect(revoker.size()).toBe(0);
  });

  test("ends a stream when its token expires, not before", async () => {
    const { ended, open } = setup();
    const at = Date.now() + 150;
    open("alice", "c1", at);
    open("bob", "c1", at + 60_000);
    expect(ended).toEqual([]);
    await until(() => ended.length > 0);
    expect(Date.now()).toBeGreaterThanOrEqual(at);
    expect(ended).toEqual([["alice@c1", expect.objectContaining({ code: 401, cause: "expired" })]]);
  });

  test("with disconnect_expired_credentials off, expiry ends nothing; untracking cancels the timer", async () => {
    const off = setup(false);
    off.open("alice", "c1", Date.now() + 20);
    const on = setup(true);
    const done = on.open("bob", "c1", Date.now() + 20);
    done();
    await Bun.sleep(100);
    expect(off.ended).toEqual([]);
    expect(on.ended).toEqual([]);
    off.revoker.close();
  });
});
