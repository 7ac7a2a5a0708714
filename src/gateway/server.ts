// Bun.serve with TLS; WebSocket upgrades on the same port through Bun's own server.upgrade,
// dispatched to the WsSession each upgraded socket carries.
import type { Server } from "bun";
import type { GatewayApp } from "./app.ts";
import { CLUSTER_PREFIX, pathStart } from "./cluster-path.ts";
import type { WsSession } from "./forward/websocket.ts";
import type { ConnectionCounter, WsCaps } from "./limits/index.ts";

export interface ServeOptions {
  app: GatewayApp;
  hostname: string;
  port: number;
  tls: { cert: string; key: string };
  /** Seconds an idle connection is kept (proxied requests switch this off for themselves). */
  idleTimeoutSec?: number;
  /** WebSocket caps (proxy_service.limits). */
  ws: WsCaps;
  /** Kept-alive connections per client address (limits/connections.ts); none: not limited. */
  connections?: ConnectionCounter;
  /** Called for each answer sent with `Connection: close` because its address is at its cap. */
  onConnectionLimit?: () => void;
}

/** Seconds Bun keeps an idle connection open on the public listener, unless told otherwise. */
export const DEFAULT_IDLE_TIMEOUT_SEC = 120;

/** True when the URL's path is under /v1/clusters/ (the proxied API: most of the traffic). */
export function isClusterUrl(url: string): boolean {
  const path = pathStart(url);
  return path >= 0 && url.startsWith(CLUSTER_PREFIX, path);
}

/** Starts the HTTPS + WebSocket listener. */
export function serve({
  app,
  hostname,
  port,
  tls,
  idleTimeoutSec = DEFAULT_IDLE_TIMEOUT_SEC,
  ws,
  connections,
  onConnectionLimit,
}: ServeOptions): Server<WsSession> {
  return Bun.serve<WsSession>({
    hostname,
    port,
    tls,
    // Proxied requests switch their own timeout off (server.timeout(req, 0)); this covers the rest.
    idleTimeout: idleTimeoutSec,
    // The proxied API skips Hono: its routing and per-request context cost a few µs a request.
    fetch: (req, server) => {
      // The peer is looked up once (a native call) when connections are counted: the cluster route
      // reads it for its address too (undefined: the route looks it up itself).
      const peer = connections ? server.requestIP(req) : undefined;
      const answer = isClusterUrl(req.url) ? app.clusterRoute(req, server, peer) : app.fetch(req, { server });
      if (!connections || !peer || !connections.request(peer.address, peer.port)) return answer;
      onConnectionLimit?.();
      return Promise.resolve(answer).then(closing);
    },
    websocket: {
      open: (ws) => ws.data.open(ws),
      message: (ws, msg) => ws.data.message(ws, msg),
      close: (ws, code, reason) => ws.data.close(ws, code, reason),
      ping: (ws, data) => ws.data.ping(ws, data),
      drain: (ws) => ws.data.drain(ws),
      // kubectl pings every 5 s.
      idleTimeout: 120,
      // A larger message is refused on its frame header, before its payload is read: 1009.
      maxPayloadLength: ws.maxMessageBytes,
      // Above this Bun would drop a send silently; websocket.ts stops reading the other side long
      // before (its share, plus the one message already read), and closes the session if it ever
      // returns 0.
      backpressureLimit: ws.perSession + 2 * ws.maxMessageBytes,
      closeOnBackpressureLimit: true,
    },
  });
}

/**
 * The answer with `Connection: close`: Bun closes the connection once it is sent. (A fetch
 * Response's headers are mutable; one whose are not is rebuilt around the same body.)
 */
function closing(res: Response): Response {
  try {
    res.headers.set("connection", "close");
    return res;
  } catch {
    const headers = new Headers(res.headers);
    headers.set("connection", "close");
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  }
}
