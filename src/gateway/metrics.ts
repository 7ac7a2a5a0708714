// Gateway metrics on a prom-client Registry (served at /metrics).
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface GatewayMetrics {
  requests: Counter<"cluster" | "code" | "verb">;
  /** Tokens refused, by reason (token-checks.ts RefusalReason, or "other"). */
  authFailures: Counter<"reason">;
  /** Requests answered 429 (address_rate, user_rate, streams, filtered_lists) and WebSocket caps that acted (ws_message, ws_paused). */
  limited: Counter<"limit">;
  latency: Histogram<"cluster">;
  sessions: Gauge<"cluster">;
  openStreams: Gauge;
  streamsRevoked: Counter<"cause">;
  clusters: Gauge;
  registryUp: Gauge;
  rolesBroken: Gauge;
  recordingFailures: Counter;
}

/** Registers the gateway's metrics on `registry`; `wsBufferedBytes` is read at each scrape. */
export function createGatewayMetrics(
  registry: Registry,
  { wsBufferedBytes }: { wsBufferedBytes?: () => number } = {},
): GatewayMetrics {
  const registers = [registry];
  if (wsBufferedBytes)
    new Gauge({
      name: "kubeport_gateway_ws_buffered_bytes",
      help: "Bytes WebSocket sessions hold for their slower side (proxy_service.limits.ws_max_buffered_bytes_total)",
      registers,
      collect() {
        this.set(wsBufferedBytes());
      },
    });
  return {
    authFailures: new Counter({
      name: "kubeport_gateway_auth_failures_total",
      help: "Requests whose token was refused (401), by reason",
      labelNames: ["reason"],
      registers,
    }),
    limited: new Counter({
      name: "kubeport_gateway_limited_total",
      help: "Requests refused with 429 and WebSocket caps that acted, by limit",
      labelNames: ["limit"],
      registers,
    }),
    requests: new Counter({
      name: "kubeport_gateway_requests_total",
      help: "Proxied Kubernetes API requests",
      labelNames: ["cluster", "code", "verb"],
      registers,
    }),
    latency: new Histogram({
      name: "kubeport_gateway_request_seconds",
      help: "Time to the upstream response headers",
      labelNames: ["cluster"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    sessions: new Gauge({
      name: "kubeport_gateway_sessions",
      help: "Open exec/attach/port-forward sessions",
      labelNames: ["cluster"],
      registers,
    }),
    openStreams: new Gauge({
      name: "kubeport_gateway_open_streams",
      help: "Open long-lived streams (exec, attach, port-forward, watch, logs -f) the gateway can end",
      registers,
    }),
    streamsRevoked: new Counter({
      name: "kubeport_gateway_streams_revoked_total",
      help: "Streams the gateway ended because access went (cause: expired, user, session, lock, access, error, shutdown)",
      labelNames: ["cause"],
      registers,
    }),
    clusters: new Gauge({
      name: "kubeport_gateway_served_clusters",
      help: "Clusters served by this gateway",
      registers,
    }),
    rolesBroken: new Gauge({
      name: "kubeport_roles_broken",
      help: "Stored roles that cannot be used (they deny their holders every cluster until fixed)",
      registers,
    }),
    registryUp: new Gauge({
      name: "kubeport_gateway_registry_up",
      help: "1 when the registry answers",
      registers,
    }),
    recordingFailures: new Counter({
      name: "kubeport_gateway_recording_failures_total",
      help: "Session recordings that could not be written (audit.record_session decides whether the session went on)",
      registers,
    }),
  };
}
