// Bun.serve with TLS; WebSocket upgrades on the same port through Bun's own server.upgrade,
// dispatched to the WsSession each upgraded socket carries.
import type { Server } from "bun";
import type { GatewayApp } from "./app.ts";
import { CLUSTER_PREFIX, pathStart } from "./cluster-path.ts";
import type { WsSession } from "./forward/websocket.ts";

export interface ServeOptions {
  app: GatewayApp;
  hostname: string;
  port: number;
  tls: { cert: string; key: string };
  /** Seconds an idle connection is kept (proxied requests switch this off for themselves). */
  idleTimeoutSec?: number;
}

/** Splits "host:port" / "[v6]:port"; port 0 asks for a free one. */
export function parseListenAddr(addr: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) return { hostname: addr || "0.0.0.0", port: 3080 };
  return { hostname: m[1] ?? (m[2] || "0.0.0.0"), port: Number(m[3]) };
}

/** True when the URL's path is under /v1/clusters/ (the proxied API: most of the traffic). */
export function isClusterUrl(url: string): boolean {
  const path = pathStart(url);
  return path >= 0 && url.startsWith(CLUSTER_PREFIX, path);
}

/** Starts the HTTPS + WebSocket listener. */
export function serve({ app, hostname, port, tls, idleTimeoutSec = 120 }: ServeOptions): Server<WsSession> {
  return Bun.serve<WsSession>({
    hostname,
    port,
    tls,
    // Proxied requests switch their own timeout off (server.timeout(req, 0)); this covers the rest.
    idleTimeout: idleTimeoutSec,
    // The proxied API skips Hono: its routing and per-request context cost a few µs a request.
    fetch: (req, server) =>
      isClusterUrl(req.url) ? app.clusterRoute(req, server) : app.fetch(req, { server }),
    websocket: {
      open: (ws) => ws.data.open(ws),
      message: (ws, msg) => ws.data.message(ws, msg),
      close: (ws, code, reason) => ws.data.close(ws, code, reason),
      ping: (ws, data) => ws.data.ping(ws, data),
      drain: (ws) => ws.data.drain(ws),
      // kubectl pings every 5 s; the API server sends 32 KiB frames at most, port-forward more.
      idleTimeout: 120,
      maxPayloadLength: 64 * 1024 * 1024,
    },
  });
}
