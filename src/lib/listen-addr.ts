// "host:port" / "[v6]:port" listen addresses, as the config writes them.

/** Splits "host:port" / "[v6]:port"; port 0 asks for a free one. */
export function parseListenAddr(addr: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) return { hostname: addr || "0.0.0.0", port: 3080 };
  return { hostname: m[1] ?? (m[2] || "0.0.0.0"), port: Number(m[3]) };
}

/** The host a local client reaches a listener on: a wildcard becomes loopback, IPv6 is bracketed. */
export function reachableHost(hostname: string): string {
  if (hostname === "0.0.0.0" || hostname === "::") return "127.0.0.1";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}
