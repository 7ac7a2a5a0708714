// The client's address for audit: the peer, or — when the peer is a trusted proxy
// (proxy_service.trusted_proxies) — the last X-Forwarded-For entry no trusted proxy added.
import { BlockList, isIP } from "node:net";
import type { Server, SocketAddress } from "bun";
import { parseCidr } from "../config/index.ts";

export interface ClientAddresses {
  /**
   * "ip:port" of the peer, or the forwarded client's "ip" when the peer is a trusted proxy. `peer`:
   * the server's requestIP(req) when the caller looked it up already (null: there is none).
   */
  of(
    req: Request,
    server: Pick<Server<unknown>, "requestIP"> | undefined,
    peer?: SocketAddress | null,
  ): string | undefined;
  /** True when the peer `address` is one of the trusted proxies. */
  trusted(address: string): boolean;
}

const withPort = (address: string, port: number) =>
  `${address.includes(":") ? `[${address}]` : address}:${port}`;

/** IPv4-mapped IPv6 (::ffff:10.0.0.1) as the IPv4 address it is. */
const unmapped = (a: string) => (a.startsWith("::ffff:") && isIP(a.slice(7)) === 4 ? a.slice(7) : a);

/**
 * Addresses over `trusted` (addresses or CIDRs). Without trusted proxies X-Forwarded-For is never
 * read: anyone can send one. With them, the header is read right to left (each proxy appends the
 * address it received from) and the first entry that is not a trusted proxy is the client; a
 * malformed entry stops the walk at the proxy that passed it.
 */
export function clientAddresses(trusted: readonly string[]): ClientAddresses {
  const list = new BlockList();
  for (const t of trusted) {
    const c = parseCidr(t);
    if (c) list.addSubnet(c.address, c.prefix, c.family);
  }
  const isTrusted = (a: string) => {
    const v = isIP(a);
    return v !== 0 && list.check(a, v === 4 ? "ipv4" : "ipv6");
  };
  return {
    trusted: (a) => trusted.length > 0 && isTrusted(unmapped(a)),
    of(req, server, known) {
      const peer = known === undefined ? server?.requestIP(req) : known;
      if (!peer) return undefined;
      const address = unmapped(peer.address);
      if (trusted.length === 0 || !isTrusted(address)) return withPort(address, peer.port);
      const xff = req.headers.get("x-forwarded-for");
      if (!xff) return withPort(address, peer.port);
      let client = address;
      const hops = xff.split(",");
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = unmapped(hops[i]!.trim());
        if (isIP(hop) === 0) break;
        client = hop;
        if (!isTrusted(hop)) break;
      }
      return client === address ? withPort(address, peer.port) : client;
    },
  };
}

/**
 * The IP of an address `of` returned ("ip:port", "[v6]:port", or a forwarded client's bare "ip"),
 * as X-Forwarded-For carries it; undefined for undefined.
 */
export function addressIp(addr: string | undefined): string | undefined {
  if (addr === undefined) return addr;
  if (addr.startsWith("[")) return addr.slice(1, addr.indexOf("]"));
  // "a.b.c.d:port" has one colon; a bare IPv4 none, a bare IPv6 several (told without isIP's regexes).
  const colon = addr.indexOf(":");
  if (colon < 0 || addr.indexOf(":", colon + 1) >= 0) return addr;
  return addr.slice(0, colon);
}
