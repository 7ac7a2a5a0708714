// HTTP CONNECT tunnels (RFC 9110 §9.3.6) through an egress proxy: the request, the reading of the
// proxy's answer, and a node:net socket tunnelled to host:port for node:https and the AWS SDK.
import net from "node:net";
import { type ProxyServer, proxyName } from "./egress.ts";

/** A connection through the proxy failed; the message names the proxy and the target. */
export class ProxyError extends Error {
  constructor(
    readonly proxy: ProxyServer,
    readonly target: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${proxyName(proxy)} for ${target}: ${detail}`, options);
    this.name = "ProxyError";
  }
}

const ERRNO_WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused (is the proxy running, and is this its address?)",
  ENOTFOUND: "the proxy's host name does not resolve",
  EAI_AGAIN: "the proxy's host name does not resolve (DNS lookup failed)",
  ETIMEDOUT: "timed out connecting",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ECONNRESET: "the proxy closed the connection",
};

/** Why a connection to the proxy itself failed, in words. */
export function proxyConnectFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code ?? "";
  return `cannot reach the proxy: ${ERRNO_WORDS[code] ?? (err as Error)?.message ?? String(err)}`;
}

/** The CONNECT request for host:port (IPv6 in brackets), with the proxy's credentials if any. */
export function connectRequest(proxy: ProxyServer, host: string, port: number): string {
  const authority = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  return [
    `CONNECT ${authority} HTTP/1.1`,
    `Host: ${authority}`,
    ...(proxy.authorization ? [`Proxy-Authorization: ${proxy.authorization}`] : []),
    "",
    "",
  ].join("\r\n");
}

/**
 * Reads the proxy's answer from what arrived so far: undefined while incomplete, else the status
 * and any bytes after the head (none from a proper proxy: the target has not been written to yet).
 */
export function parseConnectReply(
  buf: Buffer,
): { status: number; statusText: string; rest: Buffer } | undefined {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) {
    if (buf.length > 16 * 1024) return { status: 0, statusText: "answer too large", rest: Buffer.alloc(0) };
    return undefined;
  }
  const line = buf.subarray(0, buf.indexOf("\r\n")).toString("latin1");
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(line);
  return {
    status: m ? Number(m[1]) : 0,
    statusText: m ? m[2]!.trim() : `not an HTTP answer: ${JSON.stringify(line.slice(0, 60))}`,
    rest: buf.subarray(end + 4),
  };
}

/** The message for a proxy that answered CONNECT with something else than 2xx. */
export const tunnelRefused = (status: number, statusText: string) =>
  status
    ? `the proxy refused the tunnel: HTTP ${status}${statusText ? ` ${statusText}` : ""}`
    : `the proxy's answer to CONNECT is unreadable (${statusText})`;

/** Opens a TCP connection to the proxy and a CONNECT tunnel through it to host:port. */
export function openTunnel(
  proxy: ProxyServer,
  host: string,
  port: number,
  timeoutMs = 10_000,
): Promise<net.Socket> {
  const target = `${host}:${port}`;
  return new Promise((resolve, reject) => {
    const sock = net.connect(proxy.port, proxy.host);
    let buf = Buffer.alloc(0);
    let done = false;
    const onConnect = () => sock.write(connectRequest(proxy, host, port));
    const onError = (err: Error) =>
      finish(new ProxyError(proxy, target, proxyConnectFailure(err), { cause: err }));
    const onClose = () =>
      finish(new ProxyError(proxy, target, "the proxy closed the connection before answering CONNECT"));
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const reply = parseConnectReply(buf);
      if (!reply) return;
      if (reply.status < 200 || reply.status > 299)
        return finish(new ProxyError(proxy, target, tunnelRefused(reply.status, reply.statusText)));
      // Hold what follows for whoever reads the tunnel next (TLS, or the HTTP client).
      sock.pause();
      if (reply.rest.length) sock.unshift(reply.rest);
      finish();
    };
    const timer = setTimeout(
      () => finish(new ProxyError(proxy, target, `no answer to CONNECT within ${timeoutMs} ms`)),
      timeoutMs,
    );
    function finish(err?: Error) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.off("connect", onConnect).off("data", onData).off("error", onError).off("close", onClose);
      if (err) {
        sock.destroy();
        reject(err);
      } else resolve(sock);
    }
    sock.once("connect", onConnect);
    sock.on("data", onData);
    sock.once("error", onError);
    sock.once("close", onClose);
  });
}
