// Gateway metrics on a prom-client Registry (served at /metrics). The two a proxied request touches
// (requests, latency) are plain numbers on the request path, handed to prom-client when scraped:
// prom-client validates and hashes the labels of every inc/observe (~3 µs a request together).
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Requests answered, by cluster, status code and verb: counted here, read by prom-client at scrape. */
export interface RequestCounter {
  inc(cluster: string, code: number, verb: string): void;
}

/** Seconds to the upstream response headers, by cluster. */
export interface LatencyHistogram {
  observe(cluster: string, seconds: number): void;
}

export interface GatewayMetrics {
  requests: RequestCounter;
  /** Tokens refused, by reason (token-checks.ts RefusalReason, or "other"). */
  authFailures: Counter<"reason">;
  /** Requests answered 429 (address_rate, user_rate, streams, filtered_lists) and WebSocket caps that acted (ws_message, ws_paused). */
  limited: Counter<"limit">;
  latency: LatencyHistogram;
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
    requests: requestCounter(registers),
    latency: latencyHistogram(registers),
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

/** kubeport_gateway_requests_total: one Map entry per (cluster, code, verb), copied at scrape. */
function requestCounter(registers: Registry[]): RequestCounter {
  const counts = new Map<string, { labels: { cluster: string; code: string; verb: string }; n: number }>();
  new Counter({
    name: "kubeport_gateway_requests_total",
    help: "Proxied Kubernetes API requests",
    labelNames: ["cluster", "code", "verb"],
    registers,
    collect() {
      this.reset();
      for (const { labels, n } of counts.values()) this.inc(labels, n);
    },
  });
  return {
    inc(cluster, code, verb) {
      const key = `${cluster}\u0000${code}\u0000${verb}`;
      const hit = counts.get(key);
      if (hit) hit.n++;
      else counts.set(key, { labels: { cluster, code: String(code), verb }, n: 1 });
    },
  };
}

export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One cluster's observations: counts per bucket (not cumulative; the last is +Inf), sum, count. */
interface Observed {
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * kubeport_gateway_request_seconds: buckets counted per cluster here; at scrape the histogram is
 * rebuilt from them. prom-client has no public way to set a histogram's buckets, so the rebuild
 * writes the per-label entry its own observe() keeps (metrics.test.ts checks the exposition
 * against prom-client's own observe of the same values).
 */
function latencyHistogram(registers: Registry[]): LatencyHistogram {
  const byCluster = new Map<string, Observed>();
  new Histogram({
    name: "kubeport_gateway_request_seconds",
    help: "Time to the upstream response headers",
    labelNames: ["cluster"],
    buckets: LATENCY_BUCKETS,
    registers,
    collect() {
      this.reset();
      // zero() creates each cluster's entry under prom-client's own key for its labels; the entries
      // are then found in one pass (a search per cluster made a scrape of 10,000 clusters quadratic).
      for (const cluster of byCluster.keys()) this.zero({ cluster });
      const entries = new Map<string, PromHistogramEntry>();
      for (const e of Object.values(
        (this as unknown as { hashMap: Record<string, PromHistogramEntry> }).hashMap,
      ))
        entries.set(e.labels.cluster!, e);
      for (const [cluster, o] of byCluster) {
        const entry = entries.get(cluster);
        if (!entry) continue;
        LATENCY_BUCKETS.forEach((le, i) => {
          entry.bucketValues[le] = o.buckets[i]!;
        });
        entry.sum = o.sum;
        entry.count = o.count;
      }
    },
  });
  return {
    observe(cluster, seconds) {
      let o = byCluster.get(cluster);
      if (!o) {
        o = { buckets: new Float64Array(LATENCY_BUCKETS.length + 1), sum: 0, count: 0 };
        byCluster.set(cluster, o);
      }
      let i = 0;
      while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
      o.buckets[i]!++;
      o.sum += seconds;
      o.count++;
    },
  };
}

/** What prom-client 15's Histogram keeps per label set (hashMap values). */
interface PromHistogramEntry {
  labels: Record<string, string>;
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}
