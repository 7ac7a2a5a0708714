// Leader locks on Redis: acquire, renew and release on the direct connection (never replayed), each
// acquisition and renewal believed only once it is durable: replicas acknowledged it (WAIT) and the
// node that ran it still answered as a primary (ROLE) in the same pipeline.
import { unavailable, uncertain } from "../../lib/errors.ts";
import { leaseDeadline, lockOpTimeout, newSession } from "../lease.ts";
import type { Backend, Lease } from "../types.ts";
import type { DirectConnection, PipelineResult } from "./direct.ts";
import type { RedisKeys } from "./redis-backend.ts";
import * as lua from "./scripts.ts";

export interface RedisLocksOptions {
  direct: DirectConnection;
  keys: RedisKeys;
  /**
   * Replicas that must acknowledge each acquisition and renewal (WAIT n); 0 confirms nothing (a
   * standalone server, for trying kubeport out, has no replica).
   */
  acks: number;
}

/** The lock's stored value for a lease: what the fence of every guarded write compares. */
export const leaseValue = (l: Pick<Lease, "token" | "holder" | "session">): string =>
  `${l.token}|${l.holder}|${l.session}`;

/** WAIT 1 (the ack count) and ROLE, appended after the script; how long WAIT may block. */
const waitFor = (timeoutMs: number) => Math.max(20, Math.floor(timeoutMs / 2));

/**
 * Throws "uncertain" unless the WAIT and ROLE answers after the script say a replica has it and the
 * node is still a primary. A node demoted while it ran the script (a stalled primary waking after
 * a failover) answers WAIT with an error or 0, or ROLE with "slave": what it ran is being discarded.
 */
export function assertDurable(what: string, res: PipelineResult, waitMs: number, acks: number): void {
  const [waitErr, acked] = res[1] ?? [new Error("no WAIT answer")];
  const [roleErr, role] = res[2] ?? [new Error("no ROLE answer")];
  const isPrimary = !roleErr && Array.isArray(role) && role[0] === "master";
  if (waitErr || Number(acked) < acks)
    throw uncertain(
      `${what}: ${acks === 1 ? "no Redis replica" : `fewer than ${acks} Redis replicas`} acknowledged it within ${waitMs} ms${waitErr ? ` (${waitErr.message})` : ""}; not used`,
    );
  if (!isPrimary)
    throw uncertain(
      `${what}: the Redis node that ran it is no longer a primary (${roleErr?.message ?? String((role as unknown[])?.[0])}); not used`,
    );
}

/** acquireLock, renewLock and releaseLock of the Redis backend. */
export function createRedisLocks({
  direct,
  keys,
  acks,
}: RedisLocksOptions): Pick<Backend, "acquireLock" | "renewLock" | "releaseLock"> {
  const scriptError = (what: string, res: PipelineResult) => {
    const err = res[0]?.[0];
    if (err) throw unavailable(`${what}: ${err.message}`, err);
    return res[0]?.[1];
  };
  const withConfirm = (p: Parameters<Parameters<DirectConnection["exec"]>[1]>[0], waitMs: number) => {
    if (acks <= 0) return;
    p.call("WAIT", String(acks), String(waitMs));
    p.call("ROLE");
  };

  return {
    async acquireLock(lock, holder, ttlMs, session = newSession()) {
      const what = `lock ${lock}`;
      const ttl = Math.max(1, Math.round(ttlMs));
      const timeout = lockOpTimeout(ttl);
      const waitMs = waitFor(timeout);
      const sentAt = performance.now();
      const res = await direct.exec(
        what,
        (p) => {
          p.eval(lua.ACQUIRE, 2, keys.lock(lock), keys.lockToken(lock), holder, session, ttl);
          withConfirm(p, waitMs);
        },
        timeout,
      );
      const token = scriptError(what, res);
      if (token === null || token === undefined) return undefined;
      if (acks > 0) assertDurable(`${what}: acquisition with token ${token}`, res, waitMs, acks);
      return { lock, holder, session, token: Number(token), deadline: leaseDeadline(sentAt, ttl) };
    },

    async renewLock(lease, ttlMs) {
      const what = `lock ${lease.lock}`;
      const ttl = Math.max(1, Math.round(ttlMs));
      const timeout = lockOpTimeout(ttl);
      const waitMs = waitFor(timeout);
      const sentAt = performance.now();
      const res = await direct.exec(
        what,
        (p) => {
          p.eval(lua.RENEW, 1, keys.lock(lease.lock), leaseValue(lease), ttl);
          withConfirm(p, waitMs);
        },
        timeout,
      );
      if (scriptError(what, res) !== 1) return undefined;
      if (acks > 0) assertDurable(`${what}: renewal of token ${lease.token}`, res, waitMs, acks);
      return { ...lease, deadline: leaseDeadline(sentAt, ttl) };
    },

    async releaseLock(lease) {
      const what = `lock ${lease.lock}`;
      const res = await direct.exec(
        what,
        (p) => void p.eval(lua.RELEASE, 1, keys.lock(lease.lock), lease.holder, lease.session),
        5000,
      );
      scriptError(what, res);
    },
  };
}
