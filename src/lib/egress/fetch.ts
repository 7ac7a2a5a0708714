// Bun's fetch with kubeport's egress decision made explicit (a proxy, or `proxy: false`), so fetch
// follows the same HTTPS_PROXY/NO_PROXY reading as every other client, and a failure through the
// proxy says which proxy.
import { type Egress, type ProxyServer, processEgress } from "./egress.ts";
import { ProxyError, proxyConnectFailure, tunnelRefused } from "./tunnel.ts";

/** Bun's `proxy` option for `target`: the proxy (NO_PROXY already applied), or false for direct. */
export function fetchProxy(
  target: string | URL,
  egress: Egress = processEgress(),
): { url: string; respectNoProxy: false } | false {
  const proxy = egress.route(target);
  return proxy ? { url: proxy.url.href, respectNoProxy: false } : false;
}

/** Connection-level failures: with a proxy, the only connection fetch opened was to the proxy. */
const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ConnectionRefused",
  "FailedToOpenSocket",
]);

/**
 * Rewrites a fetch error that happened through `proxy` so it names the proxy: cannot reach it, it
 * refused the tunnel, or (anything else) the original message with "through proxy …" appended.
 */
export function explainProxied(err: unknown, proxy: ProxyServer, target: string | URL): Error {
  const u = typeof target === "string" ? new URL(target) : target;
  const where = u.host;
  const e = err as { code?: string; status?: number; statusText?: string; message?: string; name?: string };
  if (e?.name === "AbortError" || e?.name === "TimeoutError") return err as Error;
  if (e?.code === "ERR_PROXY_TUNNEL")
    return new ProxyError(proxy, where, tunnelRefused(e.status ?? 0, e.statusText ?? ""), { cause: err });
  if (e?.code && CONNECT_CODES.has(e.code))
    return new ProxyError(proxy, where, proxyConnectFailure(err), { cause: err });
  return new ProxyError(proxy, where, e?.message ?? String(err), { cause: err });
}

/** `fetch(input, init)` through the egress proxy `input` routes to; errors name the proxy. */
export async function egressFetch(
  input: string | URL,
  init: BunFetchRequestInit = {},
  egress: Egress = processEgress(),
): Promise<Response> {
  const proxy = egress.route(input);
  try {
    return await fetch(input, {
      ...init,
      proxy: proxy ? { url: proxy.url.href, respectNoProxy: false } : false,
    });
  } catch (err) {
    throw proxy ? explainProxied(err, proxy, input) : err;
  }
}
