// Egress: which proxy (if any) an outbound connection goes through, from HTTPS_PROXY / HTTP_PROXY /
// NO_PROXY read once, so every client kubeport has decides the same way.
import { badParameter } from "../errors.ts";
import { bypassesProxy, type NoProxyRule, parseNoProxy } from "./no-proxy.ts";

/** A proxy and the variable that named it (for messages: "proxy http://p:3128 (HTTPS_PROXY)"). */
export interface ProxyServer {
  url: URL;
  variable: string;
  host: string;
  port: number;
  /** `Proxy-Authorization` value when the URL carries user:password. */
  authorization?: string;
}

export interface Egress {
  /** The proxy for a connection to `target` (http(s):// or ws(s):// URL), or undefined: go direct. */
  route(target: string | URL): ProxyServer | undefined;
  /** The proxy for host:port reached as `secure` (TLS) or not, or undefined. */
  routeHost(host: string, port: number, secure: boolean): ProxyServer | undefined;
  /** One line for the start-up log: what goes where. */
  describe(): string;
  readonly https?: ProxyServer;
  readonly http?: ProxyServer;
  readonly noProxy: readonly NoProxyRule[];
}

type Env = Record<string, string | undefined>;

/** The first set, non-empty of `names` (lower case first, as curl reads them). */
function pick(env: Env, names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

function proxyServer(variable: string, value: string): ProxyServer {
  // curl and Bun accept a bare host:port and read it as http://.
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badParameter(`${variable}=${JSON.stringify(value)} is not a proxy URL (http://HOST:PORT)`);
  }
  if (url.protocol !== "http:")
    throw badParameter(
      `${variable}=${redact(url)}: only http:// proxies are supported (kubeport tunnels through them with CONNECT; the connection to the target is TLS anyway)`,
    );
  if (!url.hostname) throw badParameter(`${variable}=${JSON.stringify(value)} names no proxy host`);
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  return {
    url,
    variable,
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: Number(url.port || 80),
    ...(user || pass ? { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}` } : {}),
  };
}

/** The proxy URL for messages and logs: the password replaced by `***`. */
export function redact(url: URL): string {
  if (!url.password) return url.href.replace(/\/$/, "");
  const copy = new URL(url.href);
  copy.password = "***";
  return copy.href.replace(/\/$/, "");
}

/** "proxy http://p:3128 (HTTPS_PROXY)". */
export const proxyName = (p: ProxyServer) => `proxy ${redact(p.url)} (${p.variable})`;

const DEFAULT_PORT: Record<string, number> = { "https:": 443, "wss:": 443, "http:": 80, "ws:": 80 };

/**
 * Egress settings from `env`: `https_proxy`/`HTTPS_PROXY` for TLS targets (https, wss),
 * `http_proxy`/`HTTP_PROXY` for plain ones, `no_proxy`/`NO_PROXY` for exceptions (lower case wins,
 * an empty value counts as unset). Throws a bad parameter naming the variable for a bad value.
 */
export function createEgress(env: Env): Egress {
  const httpsVar = pick(env, ["https_proxy", "HTTPS_PROXY"]);
  const httpVar = pick(env, ["http_proxy", "HTTP_PROXY"]);
  const noVar = pick(env, ["no_proxy", "NO_PROXY"]);
  const https = httpsVar && proxyServer(httpsVar.name, httpsVar.value);
  const http = httpVar && proxyServer(httpVar.name, httpVar.value);
  const { rules, invalid } = parseNoProxy(noVar?.value);
  if (invalid.length)
    throw badParameter(
      `${noVar!.name}: cannot read ${invalid.map((e) => JSON.stringify(e)).join(", ")} (entries are *, a domain, an IP address, a CIDR block, each optionally :PORT)`,
    );
  const cache = new Map<string, ProxyServer | undefined>();
  const byOrigin = new Map<string, ProxyServer | false>();
  const routeHost = (host: string, port: number, secure: boolean) => {
    const proxy = secure ? https : http;
    if (!proxy) return undefined;
    const key = `${secure ? "s" : ""}${host}:${port}`;
    if (cache.has(key)) return cache.get(key);
    const chosen = bypassesProxy(rules, host, port) ? undefined : proxy;
    if (cache.size > 1000) cache.clear();
    cache.set(key, chosen);
    return chosen;
  };
  return {
    ...(https ? { https } : {}),
    ...(http ? { http } : {}),
    noProxy: rules,
    routeHost,
    route(target) {
      if (!https && !http) return undefined;
      // Per request on the gateway's hot path: decided once per origin, without parsing the URL again.
      const text = typeof target === "string" ? target : target.href;
      const origin = text.slice(0, text.indexOf("/", text.indexOf("//") + 2) >>> 0);
      const known = byOrigin.get(origin);
      if (known !== undefined) return known || undefined;
      const u = new URL(text);
      const secure = u.protocol === "https:" || u.protocol === "wss:";
      const host = u.hostname.replace(/^\[|\]$/g, "");
      const chosen = routeHost(host, Number(u.port || DEFAULT_PORT[u.protocol] || 80), secure);
      if (byOrigin.size > 1000) byOrigin.clear();
      byOrigin.set(origin, chosen ?? false);
      return chosen;
    },
    describe() {
      const parts = [
        https ? `https through ${proxyName(https)}` : "https direct",
        http ? `http through ${proxyName(http)}` : "http direct",
      ];
      if ((https || http) && rules.length)
        parts.push(`except ${noVar!.name}=${rules.map((r) => r.entry).join(",")}`);
      return parts.join("; ");
    },
  };
}

let fromProcess: Egress | undefined;

/**
 * The process's egress settings, read from its environment on first use and kept (as Go's
 * ProxyFromEnvironment does): a changed variable takes effect at the next start.
 */
export function processEgress(): Egress {
  fromProcess ??= createEgress(process.env);
  return fromProcess;
}
