// UpstreamCredentials: how the gateway authenticates to a cluster's API server.
import type { KubeCluster } from "../../registry/index.ts";

export interface UpstreamCredentials {
  /** The `Authorization` header value for this cluster, or undefined to send none. */
  authorization(cluster: KubeCluster): Promise<string | undefined>;
}

/** A fixed bearer token for every cluster (tests, and clusters with `auth: none` use no header). */
export function staticCredentials(token: string | undefined): UpstreamCredentials {
  return { authorization: async (c) => (c.spec.auth === "none" || !token ? undefined : `Bearer ${token}`) };
}
