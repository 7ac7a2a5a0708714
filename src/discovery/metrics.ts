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
  pollDuration: Histogram;
}

/** Creates (or reuses, when already registered in `registry`) the discovery metrics. */
export function createDiscoveryMetrics(registry: Registry = new Registry()): DiscoveryMetrics {
  const get = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  const registers = [registry];
  return {
    registry,
    polls: get(
      "kubeport_discovery_polls_total",
      () =>
        new Counter({
          name: "kubeport_discovery_polls_total",
          help: "Discovery polls by outcome (ok, partial, error).",
          labelNames: ["outcome"],
          registers,
        }),
    ),
    clustersFound: get(
      "kubeport_discovery_clusters_found",
      () =>
        new Gauge({
          name: "kubeport_discovery_clusters_found",
          help: "EKS clusters enrolled by the last poll.",
          registers,
        }),
    ),
    created: get(
      "kubeport_discovery_created_total",
      () =>
        new Counter({
          name: "kubeport_discovery_created_total",
          help: "kube_cluster resources created.",
          registers,
        }),
    ),
    updated: get(
      "kubeport_discovery_updated_total",
      () =>
        new Counter({
          name: "kubeport_discovery_updated_total",
          help: "kube_cluster resources updated.",
          registers,
        }),
    ),
    deleted: get(
      "kubeport_discovery_deleted_total",
      () =>
        new Counter({
          name: "kubeport_discovery_deleted_total",
          help: "kube_cluster resources deleted.",
          registers,
        }),
    ),
    awsCalls: get(
      "kubeport_discovery_aws_calls_total",
      () =>
        new Counter({
          name: "kubeport_discovery_aws_calls_total",
          help: "AWS API calls by action and outcome (ok or the error name).",
          labelNames: ["action", "outcome"],
          registers,
        }),
    ),
    pollDuration: get(
      "kubeport_discovery_poll_duration_seconds",
      () =>
        new Histogram({
          name: "kubeport_discovery_poll_duration_seconds",
          help: "Duration of a discovery poll.",
          buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
          registers,
        }),
    ),
  };
}
