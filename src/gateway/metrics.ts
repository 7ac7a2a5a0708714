// Gateway metrics on a prom-client Registry (served at /metrics).
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface GatewayMetrics {
  requests: Counter<"cluster" | "code" | "verb">;
  latency: Histogram<"cluster">;
  sessions: Gauge<"cluster">;
  clusters: Gauge;
  registryUp: Gauge;
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
    clusters: new Gauge({
      name: "kubeport_gateway_served_clusters",
      help: "Clusters served by this gateway",
      registers,
    }),
    registryUp: new Gauge({
      name: "kubeport_gateway_registry_up",
      help: "1 when the registry answers",
      registers,
    }),
  };
}
