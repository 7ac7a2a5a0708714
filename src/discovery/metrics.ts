// Prometheus metrics of the discovery service (prom-client), in the given or a private registry.
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface DiscoveryMetrics {
  registry: Registry;
  polls: Counter<"outcome">;
  clustersFound: Gauge;
  created: Counter;
  updated: Counter;
  deleted: Counter;
  awsCalls: Counter<"action" | "outcome">;
  awsRetries: Counter<"action">;
  pollDuration: Histogram;
  scopeLastSuccess: Gauge<"account" | "region">;
  scopeDuration: Gauge<"account" | "region">;
  scopeFailures: Counter<"account" | "region">;
  scopeThrottled: Counter<"account" | "region">;
  scopeClusters: Gauge<"account" | "region">;
}

/** Creates (or reuses, when already registered in `registry`) the discovery metrics. */
export function createDiscoveryMetrics(registry: Registry = new Registry()): DiscoveryMetrics {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Counter<L>({ name, help, labelNames, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    (registry.getSingleMetric(name) as Gauge<L> | undefined) ??
    new Gauge<L>({ name, help, labelNames, registers });
  const scope: ("account" | "region")[] = ["account", "region"];
  return {
    registry,
    polls: counter(
      "kubeport_discovery_polls_total",
      "Reconciles by outcome (ok, partial: some scope failed, error).",
      ["outcome"],
    ),
    clustersFound: gauge(
      "kubeport_discovery_clusters_found",
      "EKS clusters enrolled: desired now, plus those kept while their scope fails (the last good count).",
    ),
    created: counter("kubeport_discovery_created_total", "kube_cluster resources created."),
    updated: counter("kubeport_discovery_updated_total", "kube_cluster resources updated."),
    deleted: counter("kubeport_discovery_deleted_total", "kube_cluster resources deleted."),
    awsCalls: counter(
      "kubeport_discovery_aws_calls_total",
      "AWS API calls by action and outcome (ok or the error name).",
      ["action", "outcome"],
    ),
    awsRetries: counter(
      "kubeport_discovery_aws_retries_total",
      "AWS API attempts retried by the SDK, by action.",
      ["action"],
    ),
    pollDuration:
      (registry.getSingleMetric("kubeport_discovery_poll_duration_seconds") as Histogram | undefined) ??
      new Histogram({
        name: "kubeport_discovery_poll_duration_seconds",
        help: "Duration of one scope's fetch (ListClusters and DescribeCluster).",
        buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
        registers,
      }),
    scopeLastSuccess: gauge(
      "kubeport_discovery_scope_last_success_timestamp_seconds",
      "When the scope's last fully successful fetch ended (Unix seconds).",
      scope,
    ),
    scopeDuration: gauge(
      "kubeport_discovery_scope_duration_seconds",
      "Duration of the scope's latest fetch.",
      scope,
    ),
    scopeFailures: counter("kubeport_discovery_scope_failures_total", "Failed fetches of the scope.", scope),
    scopeThrottled: counter(
      "kubeport_discovery_scope_throttled_total",
      "Throttled AWS answers in the scope (the SDK retries them within the scope's deadline).",
      scope,
    ),
    scopeClusters: gauge(
      "kubeport_discovery_scope_clusters",
      "Clusters the scope's matchers selected in its last successful fetch (unchanged while it fails).",
      scope,
    ),
  };
}
