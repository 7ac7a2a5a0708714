// Kept-alive connections per client address, and how long each may stay open idle.
//
// Bun.serve (1.4.5) tells nothing when a connection opens or closes; it shows each request's peer
// (server.requestIP: address and port). What it does give is a per-connection idle timeout:
// server.timeout(req, s) sets how long the connection of `req` stays open idle once this answer is
// sent (until its next request, which starts again from the listener's idleTimeout; a call after the
// answer was sent does nothing). So a connection is counted from a request until the idle time it
// was given has surely passed: the listener's idleTimeout, or what answered() said to give it. (Bun
// checks idle timeouts on a 4 s tick: s seconds close an idle connection within ceil(s / 4) × 4 s.)
//
// An address holding more than an eighth of its cap is crowded: the proxied answers on its connections give them
// CROWDED_IDLE_SEC instead of the listener's idle timeout (middleware.ts, when the answer ends), so a
// client that churns connections (CI running kubectl in a loop, an office behind one NAT address)
// has a few seconds of them counted, not two minutes. At its cap, a connection not counted yet is
// answered with `Connection: close` (server.ts): Bun closes it once the answer is sent.
//
// What this holds (README, Limits; default cap 512, listener 120 s): one address keeps at most the
// cap of connections that finished a request (those whose last answer was the gateway's own page,
// not a cluster's, keep the listener's idle time: answered() is called for cluster answers); a client that opens a new connection for each
// kubectl request and never reuses one may open (512 − 64) / 5 s ≈ 89 a second for ever and never
// meet the cap (at 4 a second, the listener's 121 s windows alone would have met it), and a pool
// bursting to 448 new connections at once does not either. (Half the cap was tried first: a load
// client whose pool grew to 256 under a stall and shrank again left 256 closed connections counted
// for 121 s, and its next burst met the cap — every `Connection: close` then makes it reconnect.)
import { type Clock, systemClock } from "../../lib/clock.ts";
import { addressKey } from "./client-address.ts";

/** Idle seconds a crowded address's connections get after each answer (one tick of Bun's 4 s timer). */
export const CROWDED_IDLE_SEC = 4;

/** Bun's idle-timeout tick (uSockets checks timeouts every 4 s). */
const TICK_SEC = 4;

/** Slack past the last tick for an event loop running late. */
const SLACK_MS = 1000;

/** How often a crowded address's ports are checked for ones gone (a walk over up to the cap). */
const PRUNE_EVERY_MS = 1000;

export interface ConnectionCounter {
  /**
   * Records a request on the connection from `address`:`port` (counted for the listener's idle
   * timeout from now); true when that connection must close after this answer (its address holds its
   * cap of other live connections).
   */
  request(address: string, port: number): boolean;
  /**
   * The answer on this connection ends now: the idle seconds the caller gives the connection
   * (server.timeout), counted from now. Shorter than the listener's for a crowded address.
   */
  answered(peer: { address: string; port: number } | null | undefined): number;
  /** Connections counted for the address now. */
  open(address: string): number;
  /** The listener's idle timeout (s). */
  readonly idleSec: number;
}

export interface ConnectionCounterOptions {
  /** Most connections an address may keep; 0 = no limit. */
  max: number;
  /** The listener's idle timeout (Bun.serve idleTimeout, s). */
  idleSec: number;
  /** Peers never limited (trusted proxies: every client behind them shares their address). */
  exempt?: (address: string) => boolean;
  clock?: Clock;
}

/** One counted connection: when Bun has surely closed it if it stays idle. */
interface Conn {
  until: number;
}

interface Address {
  ports: Map<number, Conn>;
  prunedAt: number;
}

/** Milliseconds after an answer by which Bun has surely closed a connection idle for `idleSec`. */
export const goneAfterMs = (idleSec: number) => Math.ceil(idleSec / TICK_SEC) * TICK_SEC * 1000 + SLACK_MS;

export function createConnectionCounter({
  max,
  idleSec,
  exempt = () => false,
  clock = systemClock,
}: ConnectionCounterOptions): ConnectionCounter {
  const crowdedAt = Math.max(1, Math.floor(max / 8));
  const crowdedIdle = Math.min(CROWDED_IDLE_SEC, idleSec);
  const longMs = goneAfterMs(idleSec);
  const shortMs = goneAfterMs(crowdedIdle);
  /** address key → its counted connections. */
  const byAddress = new Map<string, Address>();
  let swept = clock.now();
  const prune = (a: Address, now: number) => {
    a.prunedAt = now;
    for (const [port, c] of a.ports) if (now > c.until) a.ports.delete(port);
  };
  /** Addresses gone quiet are forgotten: the map holds only addresses with live connections. */
  const sweep = (now: number) => {
    if (now - swept < longMs) return;
    swept = now;
    for (const [key, a] of byAddress) {
      prune(a, now);
      if (a.ports.size === 0) byAddress.delete(key);
    }
  };
  /** The address's counts, its ports gone checked at most once a second while it is crowded. */
  const counted = (address: string, now: number): Address => {
    sweep(now);
    const key = addressKey(address);
    let a = byAddress.get(key);
    if (!a) {
      a = { ports: new Map(), prunedAt: now };
      byAddress.set(key, a);
    } else if (a.ports.size >= crowdedAt && now - a.prunedAt >= PRUNE_EVERY_MS) prune(a, now);
    return a;
  };
  return {
    idleSec,
    request(address, port) {
      if (max <= 0 || exempt(address)) return false;
      const now = clock.now();
      const a = counted(address, now);
      // Each request gives its connection the listener's idle timeout again (Bun does), until an
      // answer says otherwise.
      const conn = a.ports.get(port);
      if (conn) {
        conn.until = now + longMs;
        return false;
      }
      if (a.ports.size >= max) prune(a, now);
      if (a.ports.size >= max) return true;
      a.ports.set(port, { until: now + longMs });
      return false;
    },
    answered(peer) {
      if (!peer || max <= 0 || exempt(peer.address)) return idleSec;
      const now = clock.now();
      const { ports } = counted(peer.address, now);
      const conn = ports.get(peer.port);
      // More than an eighth of the cap counted, this one included: the short idle time. A connection
      // forgotten meanwhile (an answer longer than its window: a watch) is counted again, or, when
      // its address is full, given the short idle time uncounted.
      const crowded = ports.size + (conn ? 0 : 1) > crowdedAt;
      const until = now + (crowded ? shortMs : longMs);
      if (conn) conn.until = until;
      else if (ports.size < max) ports.set(peer.port, { until });
      return crowded ? crowdedIdle : idleSec;
    },
    open: (address) => byAddress.get(addressKey(address))?.ports.size ?? 0,
  };
}
