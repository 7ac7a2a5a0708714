// Lease arithmetic shared by both stores and the elector: local deadlines on the monotonic clock,
// the timeout of one lock operation, and the session ids that tell one process's leases apart.
import { randomBytes } from "node:crypto";

/**
 * How much of a lease its holder gives up at the end: room for the holder's and the store's clocks
 * running at slightly different rates, and for the store's expiry timer firing late or early.
 */
export const leaseMargin = (ttlMs: number): number => Math.max(50, Math.round(ttlMs / 10));

/**
 * The local deadline (performance.now()) of a lease whose request was sent at `sentAt`. The store
 * starts its TTL when it runs the request, never before it was sent, so its expiry is later.
 */
export const leaseDeadline = (sentAt: number, ttlMs: number): number => sentAt + ttlMs - leaseMargin(ttlMs);

/** How long one acquire or renew may take: the renew period (a third of the TTL), 100 ms to 5 s. */
export const lockOpTimeout = (ttlMs: number): number => Math.max(100, Math.min(5000, Math.floor(ttlMs / 3)));

/** A new random session id (hex, no "|"). */
export const newSession = (): string => randomBytes(8).toString("hex");
