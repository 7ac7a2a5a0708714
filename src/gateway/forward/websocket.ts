// WebSocket relay for exec/attach/port-forward: open upstream first with the client's checked
// subprotocols (forward/handshake.ts), then upgrade the client with the one upstream chose, then
// relay frame for frame.
import type { Server, ServerWebSocket } from "bun";
import type { WsBudget } from "../limits/index.ts";
import { type KubeStatus, kubeStatus, statusResponse, UpstreamError } from "../status.ts";
import type { HeaderRecord } from "./headers.ts";
import { connectWs, UpgradeRefused, type WsClient, type WsMessage } from "./ws-client.ts";

/** Per-connection state stored in Bun's `ws.data`; server.ts dispatches its handlers here. */
export interface WsSession {
  open(ws: ServerWebSocket<WsSession>): void;
  message(ws: ServerWebSocket<WsSession>, msg: string | Buffer): void;
  close(ws: ServerWebSocket<WsSession>, code: number, reason: string): void;
  ping(ws: ServerWebSocket<WsSession>, data: Buffer): void;
  drain(ws: ServerWebSocket<WsSession>): void;
}

export interface SessionResult {
  bytesIn: number;
  bytesOut: number;
  exitCode?: number;
  /** The error channel's message when the command failed. */
  exitError?: string;
  durationMs: number;
  /** The message the gateway ended the session with (WsRelay.end), if it did. */
  endedBy?: string;
}

/** A relayed session, as the gateway holds it while it runs. */
export interface WsRelay {
  /**
   * Ends the session on the gateway's side (idempotent): exec/attach get `status` on the error
   * channel (kubectl prints its message), then both sides are closed; port-forward, which has no
   * channel for it, gets a close frame with the message as its reason (code 1008, policy violation).
   */
  end(status: KubeStatus): void;
}

/** Observers of a relay's messages, one per direction. */
export interface RelayTap {
  /** A message from the client (kubectl) to the pod. */
  fromClient(data: WsMessage): void;
  /** A message from the pod to the client. */
  fromUpstream(data: WsMessage): void;
}

export interface ProxyWebSocketOptions {
  request: Request;
  server: Server<WsSession>;
  /** ws(s):// upstream URL with the same path and query. */
  url: string;
  headers: HeaderRecord;
  /** Subprotocols to offer upstream: checkHandshake's result, never the client's raw offer. */
  protocols: readonly string[];
  /** Impersonate-Group values, each sent as its own header line. */
  groups?: readonly string[];
  tls: { ca?: string };
  /** How long to wait for the upstream handshake. */
  connectTimeoutMs?: number;
  /** Message size and buffered-bytes caps, shared by every session of the gateway. */
  budget: WsBudget;
  /**
   * The upstream answered: called before anything is relayed (so whatever it records comes before
   * the session's end, even for a command that is over at once).
   */
  onStart?: (relay: WsRelay) => void;
  onEnd?: (r: SessionResult) => void;
  /** Sees every message relayed, before it is sent on (the session recorder); must not throw. */
  tap?: RelayTap;
  /** A cap acted: a message too big (1009) or a side no longer read (backpressure). */
  onLimit?: (what: "ws_message" | "ws_paused") => void;
}

/**
 * The exit status in a channel-3 (error) message: Success → code 0; NonZeroExitCode → its ExitCode
 * cause and the message; another Status → its message (no code). Undefined for other frames.
 */
export function exitStatusOf(frame: Uint8Array): { code?: number; message?: string } | undefined {
  if (frame[0] !== 3) return undefined;
  try {
    const s = JSON.parse(new TextDecoder().decode(frame.subarray(1))) as {
      status?: string;
      reason?: string;
      message?: string;
      details?: { causes?: { reason?: string; message?: string }[] };
    };
    if (s.status === "Success") return { code: 0 };
    const cause = s.details?.causes?.find((c) => c.reason === "ExitCode");
    const code = s.reason === "NonZeroExitCode" && cause?.message ? Number(cause.message) : undefined;
    return { ...(code !== undefined ? { code } : {}), ...(s.message ? { message: s.message } : {}) };
  } catch {
    // not JSON: not a status frame
  }
  return undefined;
}

/** Exit code from a channel-3 (error) message: Success → 0, NonZeroExitCode → its ExitCode cause. */
export const exitCodeOf = (frame: Uint8Array): number | undefined => exitStatusOf(frame)?.code;

const enc = new TextEncoder();

/** A close reason fits in 123 bytes of UTF-8 (RFC 6455 §5.5); longer ones are cut at a character. */
export function closeReason(message: string): string {
  let out = message;
  while (enc.encode(out).byteLength > 123) out = out.slice(0, -1);
  return out;
}

/**
 * The error-channel message that carries `status` in a channel protocol, or undefined for protocols
 * without one (port-forward). v4/v5 carry a Status as JSON; v1-v3 carry the bare message; the
 * base64 variants are text frames, the channel as an ASCII digit.
 */
export function statusFrame(protocol: string, status: KubeStatus): WsMessage | undefined {
  const m = /^(?:(v[2-5])\.)?(base64\.)?channel\.k8s\.io$/.exec(protocol);
  if (!m) return undefined;
  const version = m[1] ?? "v1";
  const payload = version === "v4" || version === "v5" ? JSON.stringify(status) : status.message;
  if (m[2]) return `3${Buffer.from(payload).toString("base64")}`;
  const bytes = enc.encode(payload);
  const frame = new Uint8Array(bytes.length + 1);
  frame[0] = 3;
  frame.set(bytes, 1);
  return frame;
}

/** Ends a client socket the way `WsRelay.end` describes. */
function endClient(ws: ServerWebSocket<WsSession>, protocol: string, status: KubeStatus): void {
  const frame = statusFrame(protocol, status);
  if (frame !== undefined) ws.send(frame);
  ws.close(frame !== undefined ? 1000 : 1008, closeReason(status.message));
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
  const {
    request,
    server,
    url,
    headers,
    protocols,
    groups = [],
    tls,
    connectTimeoutMs = 10_000,
    budget,
    onStart,
    onEnd,
    tap,
    onLimit,
  } = opts;
  const started = performance.now();
  // Each group on its own Impersonate-Group line (see ws-client.ts for why not Bun's WebSocket).
  const lines: [string, string][] = [
    ...Object.entries(headers),
    ...groups.map((g): [string, string] => ["Impersonate-Group", g]),
  ];
  let upstream: WsClient;
  try {
    upstream = await connectWs({
      url,
      headers: lines,
      protocols: [...protocols],
      ...(tls.ca ? { ca: tls.ca } : {}),
      timeoutMs: connectTimeoutMs,
      maxMessageBytes: budget.caps.maxMessageBytes,
    });
  } catch (err) {
    if (err instanceof UpgradeRefused) {
      // Hand back the upstream's own Status when it sent one, else one carrying its HTTP status.
      if (err.contentType?.includes("json") && err.body.includes('"Status"')) {
        return new Response(err.body, {
          status: err.status,
          headers: { "content-type": "application/json" },
        });
      }
      return statusResponse(kubeStatus(err.status, err.message));
    }
    throw new UpstreamError(`upstream WebSocket failed: ${(err as Error).message}`, err);
  }

  const pending: WsMessage[] = [];
  let pendingBytes = 0;
  let client: ServerWebSocket<WsSession> | undefined;
  let bytesIn = 0;
  let bytesOut = 0;
  let exitCode: number | undefined;
  let exitError: string | undefined;
  let ended = false;
  /** Set when the gateway ended the session: nothing more is relayed either way. */
  let revoked: KubeStatus | undefined;
  const account = budget.open();
  const end = () => {
    if (ended) return;
    ended = true;
    account.close();
    onEnd?.({
      bytesIn,
      bytesOut,
      exitCode,
      ...(exitError !== undefined ? { exitError } : {}),
      durationMs: performance.now() - started,
      ...(revoked ? { endedBy: revoked.message } : {}),
    });
  };
  let upstreamClosed: { code: number; reason: string } | undefined;

  // Backpressure: what this session holds for its slower side is accounted in the gateway-wide
  // budget; over its share, the side that sent the last message is no longer read until the other
  // side has taken most of it (see limits/ws-budget.ts).
  let clientPaused = false;
  let upstreamPaused = false;
  const held = () => upstream.bufferedAmount() + (client?.getBufferedAmount() ?? 0) + pendingBytes;
  const press = (from: "client" | "upstream") => {
    if (!account.update(held())) return;
    if (from === "client" && client && !clientPaused) {
      clientPaused = true;
      client.pause();
      onLimit?.("ws_paused");
    } else if (from === "upstream" && !upstreamPaused) {
      upstreamPaused = true;
      upstream.pause();
      onLimit?.("ws_paused");
    }
  };
  const relieve = () => {
    account.update(held());
    if (!account.relieved()) return;
    if (clientPaused && client) {
      clientPaused = false;
      client.resume();
    }
    if (upstreamPaused) {
      upstreamPaused = false;
      upstream.resume();
    }
  };
  const sendToClient = (ws: ServerWebSocket<WsSession>, data: WsMessage) => {
    // 0: Bun dropped it (over backpressureLimit, which server.ts sets above what the caps allow):
    // end the session rather than lose part of a stream silently.
    if (ws.send(data) === 0) ws.close(1011, "gateway buffer full");
  };

  upstream.onMessage = (data) => {
    if (revoked) return;
    if (typeof data !== "string") {
      bytesOut += data.byteLength;
      if (data[0] === 3) {
        const st = exitStatusOf(data);
        if (st?.code !== undefined) exitCode = st.code;
        if (st?.message !== undefined && st.code !== 0) exitError = st.message;
      }
    }
    tap?.fromUpstream(data);
    if (client) sendToClient(client, data);
    else {
      pending.push(data);
      pendingBytes += typeof data === "string" ? data.length : data.byteLength;
    }
    press("upstream");
  };
  upstream.onDrain = relieve;
  // Bun corks a server socket only inside its own handlers; these sends come from upstream's.
  upstream.batch = (deliver) => (client ? void client.cork(deliver) : deliver());
  upstream.onClose = (code, reason) => {
    if (code === 1009) onLimit?.("ws_message");
    upstreamClosed = { code, reason };
    if (client && !revoked) client.close(sendableCode(code), reason);
    end();
  };

  const session: WsSession = {
    open(ws) {
      client = ws;
      if (revoked) return endClient(ws, chosen, revoked);
      for (const m of pending.splice(0)) sendToClient(ws, m);
      pendingBytes = 0;
      if (upstreamClosed) ws.close(sendableCode(upstreamClosed.code), upstreamClosed.reason);
      else relieve();
    },
    message(_ws, msg) {
      if (revoked) return;
      if (typeof msg !== "string") bytesIn += msg.byteLength;
      tap?.fromClient(msg);
      upstream.send(msg);
      press("client");
    },
    drain: relieve,
    close(_ws, code, reason) {
      client = undefined;
      // Our own close after upstream's (already counted) comes back here too.
      if (!upstreamClosed && (code === 1009 || /too big/i.test(reason))) {
        // Bun closes a client whose message is over maxPayloadLength with 1009 and reports 1006 here.
        onLimit?.("ws_message");
        upstream.close(1009, "client message too big");
      } else upstream.close(sendableCode(code), reason);
      end();
    },
    ping(_ws, data) {
      // Keep the upstream leg alive while kubectl keeps pinging us.
      upstream.ping(data);
    },
  };

  const chosen = upstream.protocol;
  // Before anything is let through: a session's start is on record before anything that ends it.
  onStart?.({
    end(status) {
      if (revoked || ended) return;
      revoked = status;
      pending.length = 0;
      pendingBytes = 0;
      // Before the client's open (rare: right after the upgrade) open() ends it.
      if (client) endClient(client, chosen, status);
      upstream.close(1000, closeReason(status.message));
    },
  });
  // Handlers are set: let through what upstream sent with its 101 or since.
  upstream.start();
  const upgraded = server.upgrade(request, {
    data: session,
    // Only the protocol upstream chose, passed as Headers so Bun does not echo the offer (bun #18243).
    headers: new Headers(chosen ? { "Sec-WebSocket-Protocol": chosen } : {}),
  });
  if (!upgraded) {
    upstream.close(1000);
    account.close();
    return statusResponse(kubeStatus(400, "WebSocket upgrade failed"));
  }
  return undefined;
}
