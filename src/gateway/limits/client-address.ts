// The key a client address is limited by: an IPv4 address itself, an IPv6 address by its /64 (one
// host usually holds a whole /64, so per-address IPv6 buckets would be free to multiply). The
// address is the one audit records (the peer, or a trusted proxy's X-Forwarded-For client).

/**
 * "1.2.3.4" → itself; "::ffff:1.2.3.4" → "1.2.3.4"; "2001:db8:1:2:…" → "2001:db8:1:2::/64". Takes
 * the address as audit records it too (gateway/client-address.ts): "1.2.3.4:5000" and
 * "[2001:db8::1]:5000" are keyed without their port (one client, many source ports).
 */
export function addressKey(address: string | undefined): string {
  if (!address) return "unknown";
  if (address.startsWith("[")) address = address.slice(1, address.indexOf("]"));
  else if (/^[^:]+:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(":"));
  if (!address.includes(":")) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  const groups = expandIpv6(address.replace(/%.*$/, ""));
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : address;
}

/** The eight groups of an IPv6 address, without leading zeros; undefined when it is not one. */
function expandIpv6(a: string): string[] | undefined {
  const halves = a.split("::");
  if (halves.length > 2) return undefined;
  const part = (s: string | undefined) => (s ? s.split(":") : []);
  const head = part(halves[0]);
  const tail = part(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0) return undefined;
  const all = [...head, ...Array<string>(fill).fill("0"), ...tail];
  if (all.length !== 8 || !all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return all.map((g) => g.toLowerCase().replace(/^0+(?=.)/, ""));
}
