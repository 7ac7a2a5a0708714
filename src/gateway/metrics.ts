// Gateway metrics on a prom-client Registry (served at /metrics).
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface GatewayMetrics {
  requests: Counter<"cluster" | "code" | "verb">;
  latency: Histogram<"cluster">;
  sessions: Gauge<"cluster">;
  openStreams: Gauge;
  streamsRevoked: Counter<"cause">;
  clusters: Gauge;
  registryUp: Gauge;
  rolesBroken: Gauge;
  recordingFailures: Counter;
}

/** Registers the gateway's metrics on `registry`. */
export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const registers = [registry];
  return {
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
      help: "Streams the gateway ended because access went (cause: expired, user, lock, access, error)",
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
