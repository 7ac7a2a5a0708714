// The diagnostics listener (kubeport.diag_addr, like Teleport's --diag-addr): /metrics, /healthz and
// /readyz over plain HTTP for every role of the process, discovery-only included. Metrics name
// clusters, refusals and AWS calls, so they are served here and not on the public gateway port.
import type { Registry } from "prom-client";
import { unavailable } from "../lib/errors.ts";
import { parseListenAddr, reachableHost } from "../lib/listen-addr.ts";
import type { Logger } from "../lib/log.ts";

export interface Readiness {
  ok: boolean;
  message: string;
}

export interface DiagOptions {
  /** host:port; port 0 picks a free one (the URL says which). */
  addr: string;
  metrics: Registry;
  readiness(): Promise<Readiness>;
  log: Logger;
}

export interface DiagServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts the listener; a taken or forbidden address is an `unavailable` error naming the key. */
export function startDiagServer({ addr, metrics, readiness, log }: DiagOptions): DiagServer {
  const { hostname, port } = parseListenAddr(addr);
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname,
      port,
      async fetch(req) {
        const path = new URL(req.url).pathname;
        if (req.method !== "GET" && req.method !== "HEAD")
          return new Response("method not allowed\n", { status: 405 });
        if (path === "/healthz") return new Response("ok\n");
        if (path === "/readyz") {
          const r = await readiness().catch((err: Error): Readiness => ({ ok: false, message: err.message }));
          return new Response(`${r.message}\n`, { status: r.ok ? 200 : 503 });
        }
        if (path === "/metrics")
          return new Response(await metrics.metrics(), { headers: { "content-type": metrics.contentType } });
        return new Response("not found: /metrics, /healthz, /readyz\n", { status: 404 });
      },
    });
  } catch (err) {
    throw unavailable(`kubeport.diag_addr ${addr}: cannot listen`, err);
  }
  const url = `http://${reachableHost(hostname)}:${server.port}`;
  log.info({ url }, "diagnostics listening (/metrics, /healthz, /readyz)");
  return { url, stop: () => server.stop(true) };
}
