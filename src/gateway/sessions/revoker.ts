// Ends open streams when access goes: at token expiry (a timer per stream), and on every registry
// change the gateway follows (users, roles, clusters, locks, login sessions), by re-checking the
// streams it touches.
import type { Counter, Gauge } from "prom-client";
import { type Clock, systemClock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/log.ts";
import { type AccessCheck, expiredRevocation, type Revocation } from "./access-check.ts";
import { createOpenStreams, type OpenStream } from "./open-streams.ts";

export interface RevokerOptions {
  check: AccessCheck;
  /** Arm a timer at each stream's token expiry (proxy_service.disconnect_expired_credentials). */
  disconnectExpired: boolean;
  clock?: Clock;
  log: Logger;
  metrics?: { open: Gauge; revoked: Counter<"cause"> };
}

/** Which streams a registry change can touch (`session`: those opened with that login session's tokens). */
export type RecheckScope = { user: string } | { cluster: string } | { session: string } | "all";

export interface Revoker {
  /**
   * Registers an open stream. Its access is checked at once (a change that landed while the stream
   * was being set up is not missed) and again on every `recheck`; `end` runs at most once, with the
   * reason. Returns the function to call when the stream ends by itself (idempotent).
   */
  track(s: Omit<OpenStream, "opened">, end: (r: Revocation) => void): () => void;
  /** Re-decides access for the open streams in `scope`, ending those that lost it. */
  recheck(scope: RecheckScope): void;
  /** Ends every open stream with `r` (the gateway is shutting down). */
  endAll(r: Revocation): void;
  /** Open streams now. */
  size(): number;
  /** Forgets every stream and timer (the gateway is stopping; its sockets close anyway). */
  close(): void;
}

interface Entry extends OpenStream {
  end: (r: Revocation) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/** setTimeout's limit (~24.8 days); a longer wait is re-armed when it fires. */
const MAX_TIMER_MS = 2_147_483_647;

export function createRevoker({
  check,
  disconnectExpired,
  clock = systemClock,
  log,
  metrics,
}: RevokerOptions): Revoker {
  const streams = createOpenStreams();

  const forget = (e: Entry) => {
    if (e.timer) clearTimeout(e.timer);
    if (streams.remove(e)) metrics?.open.dec();
  };

  const revoke = (e: Entry, r: Revocation) => {
    if (!streams.has(e)) return;
    forget(e);
    metrics?.revoked.inc({ cause: r.cause });
    log.info(
      { user: e.identity.user, cluster: e.cluster, stream: e.kind, cause: r.cause, reason: r.message },
      "ending open stream",
    );
    try {
      e.end(r);
    } catch (err) {
      log.warn({ err, user: e.identity.user, stream: e.kind }, "ending a stream failed");
    }
  };

  const armExpiry = (e: Entry) => {
    const at = e.identity.expiresAt;
    if (!disconnectExpired || at === undefined) return;
    const wait = Math.min(Math.max(at - clock.now(), 0), MAX_TIMER_MS);
    e.timer = setTimeout(() => {
      if (clock.now() < at) armExpiry(e);
      else revoke(e, expiredRevocation(at));
    }, wait);
    e.timer.unref?.();
  };

  return {
    track(s, end) {
      const e: Entry = { ...s, opened: clock.now(), end };
      streams.add(e);
      metrics?.open.inc();
      const now = check(e);
      if (now) revoke(e, now);
      else armExpiry(e);
      return () => forget(e);
    },
    recheck(scope) {
      const touched =
        scope === "all"
          ? streams.all()
          : "user" in scope
            ? streams.ofUser(scope.user)
            : "session" in scope
              ? streams.all().filter((s) => s.identity.sessionId === scope.session)
              : streams.all().filter((s) => s.cluster === scope.cluster);
      for (const s of touched as Entry[]) {
        const r = check(s);
        if (r) revoke(s, r);
      }
    },
    endAll(r) {
      for (const s of streams.all() as Entry[]) revoke(s, r);
    },
    size: () => streams.size(),
    close() {
      for (const s of streams.all() as Entry[]) forget(s);
    },
  };
}
