// WebSocket relay for exec/attach/port-forward: open upstream first with exactly the client's
// subprotocols, then upgrade the client with the one upstream chose, then relay frame for frame.
import type { Server, ServerWebSocket } from "bun";
import { kubeStatus, statusResponse } from "../status.ts";

/** Per-connection state stored in Bun's `ws.data`; server.ts dispatches its handlers here. */
export interface WsSession {
  open(ws: ServerWebSocket<WsSession>): void;
  message(ws: ServerWebSocket<WsSession>, msg: string | Buffer): void;
  close(ws: ServerWebSocket<WsSession>, code: number, reason: string): void;
  ping(ws: ServerWebSocket<WsSession>, data: Buffer): void;
}

export interface SessionResult {
  bytesIn: number;
  bytesOut: number;
  exitCode?: number;
  durationMs: number;
}

export interface ProxyWebSocketOptions {
  request: Request;
  server: Server<WsSession>;
  /** ws(s):// upstream URL with the same path and query. */
  url: string;
  headers: Headers;
  /** Impersonate-Group values (see headers.ts: at most one can ride Bun's WebSocket client). */
  groups?: readonly string[];
  tls: { ca?: string };
  /** How long to wait for the upstream handshake. */
  connectTimeoutMs?: number;
  onStart?: () => void;
  onEnd?: (r: SessionResult) => void;
}

/** The subprotocols a client offered, in order. */
export const offeredProtocols = (h: Headers): string[] =>
  (h.get("sec-websocket-protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);

/** Exit code from a channel-3 (error) message: Success → 0, NonZeroExitCode → its ExitCode cause. */
export function exitCodeOf(frame: Uint8Array): number | undefined {
  if (frame[0] !== 3) return undefined;
  try {
    const s = JSON.parse(new TextDecoder().decode(frame.subarray(1))) as {
      status?: string;
      reason?: string;
      details?: { causes?: { reason?: string; message?: string }[] };
    };
    if (s.status === "Success") return 0;
    const cause = s.details?.causes?.find((c) => c.reason === "ExitCode");
    if (s.reason === "NonZeroExitCode" && cause?.message) return Number(cause.message);
  } catch {
    // not JSON: not a status frame
  }
  return undefined;
}

const sendableCode = (code: number) =>
  code === 1000 ||
  (code >= 3000 && code <= 4999) ||
  (code >= 1001 && code <= 1014 && code !== 1005 && code !== 1006)
    ? code
    : 1000;

/**
 * Opens the upstream WebSocket; on success upgrades the client and returns undefined (Bun owns the
 * socket), else returns a Status response carrying the upstream's HTTP status.
 */
export async function proxyWebSocket(opts: ProxyWebSocketOptions): Promise<Response | undefined> {
  const { request, server, url, headers, groups = [], tls, connectTimeoutMs = 10_000, onStart, onEnd } = opts;
  if (groups.length > 1) {
    // Bun's WebSocket client joins repeated headers into one line, which would impersonate a
    // single group named "a, b": refuse rather than impersonate the wrong identity.
    return statusResponse(
      kubeStatus(
        501,
        "kubeport cannot yet open sessions impersonating more than one Kubernetes group; give this role one kubernetes_group",
      ),
    );
  }
  if (groups[0] !== undefined) headers.set("impersonate-group", groups[0]);
  const protocols = offeredProtocols(request.headers);
  const started = performance.now();
  const upstream = new WebSocket(url, { headers, protocols, tls } as unknown as string[]);
  upstream.binaryType = "arraybuffer";

  const pending: (string | ArrayBuffer)[] = [];
  let client: ServerWebSocket<WsSession> | undefined;
  let bytesIn = 0;
  let bytesOut = 0;
  let exitCode: number | undefined;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd?.({ bytesIn, bytesOut, exitCode, durationMs: performance.now() - started });
  };

  const opened = await new Promise<{ ok: true } | { ok: false; status: number; message: string }>(
    (resolve) => {
      const timer = setTimeout(() => {
        upstream.close();
        resolve({ ok: false, status: 504, message: "upstream WebSocket handshake timed out" });
      }, connectTimeoutMs);
      upstream.addEventListener(
        "open",
        () => {
          clearTimeout(timer);
          resolve({ ok: true });
        },
        { once: true },
      );
      upstream.addEventListener(
        "error",
        (e) => {
          clearTimeout(timer);
          const message = (e as ErrorEvent).message ?? "upstream WebSocket failed";
          const m = /Expected 101 status code: (\d{3})/.exec(message);
          resolve({
            ok: false,
            status: m ? Number(m[1]) : 502,
            message: m
              ? `upstream refused the WebSocket upgrade with HTTP ${m[1]}`
              : `upstream WebSocket failed: ${message}`,
          });
        },
        { once: true },
      );
    },
  );
  if (!opened.ok) return statusResponse(kubeStatus(opened.status, opened.message));

  upstream.addEventListener("message", (e) => {
    const data = e.data as string | ArrayBuffer;
    if (typeof data !== "string") {
      bytesOut += data.byteLength;
      const code = exitCodeOf(new Uint8Array(data));
      if (code !== undefined) exitCode = code;
    }
    if (client) client.send(data);
    else pending.push(data);
  });
  upstream.addEventListener("close", (e) => {
    if (client) client.close(sendableCode(e.code), e.reason);
    end();
  });

  const session: WsSession = {
    open(ws) {
      client = ws;
      for (const m of pending.splice(0)) ws.send(m);
      if (upstream.readyState >= WebSocket.CLOSING) ws.close(1000);
    },
    message(_ws, msg) {
      if (typeof msg !== "string") bytesIn += msg.byteLength;
      if (upstream.readyState === WebSocket.OPEN) upstream.send(msg as string | Uint8Array<ArrayBuffer>);
    },
    close(_ws, code, reason) {
      client = undefined;
      if (upstream.readyState <= WebSocket.OPEN) upstream.close(sendableCode(code), reason);
      end();
    },
    ping(_ws, data) {
      // Keep the upstream leg alive while kubectl keeps pinging us.
      (upstream as unknown as { ping?: (d?: Buffer) => void }).ping?.(data);
    },
  };

  const chosen = upstream.protocol;
  const upgraded = server.upgrade(request, {
    data: session,
    // Only the protocol upstream chose, passed as Headers so Bun does not echo the offer (bun #18243).
    headers: new Headers(chosen ? { "Sec-WebSocket-Protocol": chosen } : {}),
  });
  if (!upgraded) {
    upstream.close(1000);
    return statusResponse(kubeStatus(400, "WebSocket upgrade failed"));
  }
  onStart?.();
  return undefined;
}
