// Kept-alive connections per client address. Bun.serve tells nothing about connections (no open or
// close hook), only each request's peer (server.requestIP: address and port), so a connection is
// known from its first request, by its port, and counted until it has been idle for as long as Bun
// keeps an idle connection (the listener's idleTimeout): after that Bun has closed it. An address
// past its cap gets its answer with `Connection: close` on every connection it is not already
// counted for: Bun closes that connection once the answer is sent, so one address cannot keep
// more than the cap open by sending one request on each and then nothing.
import { type Clock, systemClock } from "../../lib/clock.ts";
import { addressKey } from "./client-address.ts";

export interface ConnectionCounter {
  /**
   * Records a request on the connection from `address`:`port`; true when that connection must close
   * after this answer (its address holds its cap of other live connections).
   */
  request(address: string, port: number): boolean;
  /** Connections counted for the address now. */
  open(address: string): number;
}

export interface ConnectionCounterOptions {
  /** Most connections an address may keep; 0 = no limit. */
  max: number;
  /** How long Bun keeps an idle connection (ms): a connection silent for longer is gone. */
  idleMs: number;
  /** Peers never limited (trusted proxies: every client behind them shares their address). */
  exempt?: (address: string) => boolean;
  clock?: Clock;
}

export function createConnectionCounter({
  max,
  idleMs,
  exempt = () => false,
  clock = systemClock,
}: ConnectionCounterOptions): ConnectionCounter {
  /** address key → port → when its connection last carried a request. */
  const byAddress = new Map<string, Map<number, number>>();
  let swept = clock.now();
  const prune = (ports: Map<number, number>, now: number) => {
    for (const [port, at] of ports) if (now - at > idleMs) ports.delete(port);
  };
  /** Addresses gone quiet are forgotten: the map holds only addresses with live connections. */
  const sweep = (now: number) => {
    if (now - swept < idleMs) return;
    swept = now;
    for (const [key, ports] of byAddress) {
      prune(ports, now);
      if (ports.size === 0) byAddress.delete(key);
    }
  };
  return {
    request(address, port) {
      if (max <= 0 || exempt(address)) return false;
      const now = clock.now();
      sweep(now);
      const key = addressKey(address);
      let ports = byAddress.get(key);
      if (!ports) {
        ports = new Map();
        byAddress.set(key, ports);
      }
      if (ports.has(port)) {
        ports.set(port, now);
        return false;
      }
      if (ports.size >= max) prune(ports, now);
      if (ports.size >= max) return true;
      ports.set(port, now);
      return false;
    },
    open: (address) => byAddress.get(addressKey(address))?.size ?? 0,
  };
}
