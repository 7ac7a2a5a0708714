// The CA a cluster's API server is pinned to: spec.ca_data as PEM, or base64 of PEM as EKS returns it.
import { badParameter } from "../../lib/errors.ts";
import type { KubeCluster } from "../../registry/index.ts";

/** The PEM bundle to trust for this cluster, or undefined (system roots) when none is set. */
export function clusterCa(cluster: KubeCluster): string | undefined {
  const data = cluster.spec.ca_data?.trim();
  if (!data) return undefined;
  const pem = data.includes("-----BEGIN") ? data : Buffer.from(data, "base64").toString("utf8");
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw badParameter(`kube_cluster "${cluster.metadata.name}" spec.ca_data is neither PEM nor base64 PEM`);
  }
  return pem;
}

// One options object per cluster record (the cache replaces the record when it changes): a request
// does not decode the PEM again.
const options = new WeakMap<KubeCluster, { ca?: string }>();

/** Bun fetch / WebSocket TLS options pinning the cluster's CA (connections are kept alive by Bun). */
export function upstreamTls(cluster: KubeCluster): { ca?: string } {
  let tls = options.get(cluster);
  if (!tls) {
    const ca = clusterCa(cluster);
    tls = ca ? { ca } : {};
    options.set(cluster, tls);
  }
  return tls;
}
