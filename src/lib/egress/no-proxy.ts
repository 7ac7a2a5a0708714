// NO_PROXY: which targets skip the egress proxy. The entries Bun's fetch and curl understand — `*`,
// domains (with or without a leading `.` or `*.`), IP addresses, CIDR blocks and `host:port` — with
// one meaning for every client kubeport has (fetch, node:https, the WebSocket client, the AWS SDK).
import { BlockList, isIP } from "node:net";

export interface NoProxyRule {
  /** The entry as written (for messages). */
  entry: string;
  kind: "all" | "domain" | "ip" | "cidr";
  /** domain: lower-case name without leading dots; ip: the address; cidr: the block. */
  value: string;
  /** Only this port, when the entry named one. */
  port?: number;
  /** cidr: the block, ready to check addresses against. */
  block?: { list: BlockList; family: "ipv4" | "ipv6" };
}

/** Splits a NO_PROXY value (commas and/or whitespace) into rules; unusable entries are returned apart. */
export function parseNoProxy(value: string | undefined): { rules: NoProxyRule[]; invalid: string[] } {
  const rules: NoProxyRule[] = [];
  const invalid: string[] = [];
  for (const entry of (value ?? "").split(/[\s,]+/).filter(Boolean)) {
    const rule = parseEntry(entry);
    if (rule) rules.push(rule);
    else invalid.push(entry);
  }
  return { rules, invalid };
}

function parseEntry(entry: string): NoProxyRule | undefined {
  if (entry === "*") return { entry, kind: "all", value: "*" };
  let host = entry;
  let port: number | undefined;
  // [v6]:port, [v6], name:port, v4:port — a bare IPv6 address has colons but no port.
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2]) port = Number(bracket[2]);
  } else if (!isIP(host) && !host.includes("/")) {
    const m = /^(.*):(\d+)$/.exec(host);
    if (m) {
      host = m[1]!;
      port = Number(m[2]);
    }
  }
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  const withPort = port === undefined ? {} : { port };
  if (host.includes("/")) {
    const [addr, bits] = host.split("/");
    const family = isIP(addr!);
    const n = Number(bits);
    if (!family || !/^\d+$/.test(bits ?? "") || n > (family === 4 ? 32 : 128)) return undefined;
    const list = new BlockList();
    const blockFamily = family === 4 ? "ipv4" : "ipv6";
    list.addSubnet(addr!, n, blockFamily);
    return { entry, kind: "cidr", value: `${addr}/${n}`, block: { list, family: blockFamily }, ...withPort };
  }
  if (isIP(host)) return { entry, kind: "ip", value: normalIp(host), ...withPort };
  const name = host
    .replace(/^\*?\.+/, "")
    .replace(/\.$/, "")
    .toLowerCase();
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(name)) return undefined;
  return { entry, kind: "domain", value: name, ...withPort };
}

/** IPv6 in its one canonical spelling (so ::1 and 0:0:0:0:0:0:0:1 are the same entry). */
function normalIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
}

/** True when `host` (a name or an IP literal, IPv6 without brackets) on `port` skips the proxy. */
export function bypassesProxy(rules: readonly NoProxyRule[], host: string, port: number): boolean {
  const h = host
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "")
    .toLowerCase();
  const family = isIP(h);
  const ip = family ? normalIp(h) : undefined;
  for (const r of rules) {
    if (r.port !== undefined && r.port !== port) continue;
    switch (r.kind) {
      case "all":
        return true;
      case "domain":
        // Names are compared as names: an IP target does not match a domain entry (no DNS here).
        if (!family && (h === r.value || h.endsWith(`.${r.value}`))) return true;
        break;
      case "ip":
        if (ip === r.value) return true;
        break;
      case "cidr": {
        const fam = family === 6 ? "ipv6" : "ipv4";
        if (family && r.block?.family === fam && r.block.list.check(h, fam)) return true;
        break;
      }
    }
  }
  return false;
}
