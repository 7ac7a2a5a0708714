// Graceful stop (SIGTERM): draining at once (/healthz and /readyz 503), accepting for shutdown_delay
// (a load balancer that only reacts to a failed health check stops sending), then no new connections,
// open streams given shutdown_grace to end by themselves, then the rest ended: watches and logs -f
// with a plain end of stream (client-go watches again, through the load balancer), exec, attach and
// port-forward told why on their error channel.
import type { Server } from "bun";
import { sleep } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import type { WsSession } from "./forward/websocket.ts";
import { type Revoker, shutdownRevocation } from "./sessions/index.ts";

export interface DrainOptions {
  server: Server<WsSession>;
  sessions: Revoker | undefined;
  delayMs: number;
  graceMs: number;
  log: Logger;
  /** How often the open streams are counted. */
  pollMs?: number;
}

/** What is still open: tracked streams, and any request or WebSocket the server holds. */
const openCount = (server: Server<WsSession>, sessions: Revoker | undefined) =>
  Math.max(sessions?.size() ?? 0, server.pendingRequests + server.pendingWebSockets);

/** Runs the drain; resolves when nothing is open or everything left was ended. The caller closes the rest. */
export async function drain({
  server,
  sessions,
  delayMs,
  graceMs,
  log,
  pollMs = 100,
}: DrainOptions): Promise<void> {
  const t0 = performance.now();
  log.info(
    { shutdown_delay_ms: delayMs, shutdown_grace_ms: graceMs, open_streams: sessions?.size() ?? 0 },
    "draining: /healthz and /readyz answer 503",
  );
  if (delayMs > 0) await sleep(delayMs);
  // No new connections; the open ones (and their requests, streams, sessions) go on.
  void server.stop(false);
  const deadline = performance.now() + graceMs;
  while (openCount(server, sessions) > 0 && performance.now() < deadline) await sleep(pollMs);
  const left = sessions?.size() ?? 0;
  if (left > 0) {
    log.info({ open_streams: left }, "shutdown_grace over: ending the open streams");
    sessions?.endAll(shutdownRevocation);
    // Their last frames and chunk terminators go out before the sockets close.
    const flushBy = performance.now() + 2000;
    while (openCount(server, sessions) > 0 && performance.now() < flushBy) await sleep(20);
  }
  log.info({ ms: Math.round(performance.now() - t0), ended: left }, "drained");
}
