// UpstreamCredentials: how the gateway authenticates to a cluster's API server.
import type { KubeCluster } from "../../registry/index.ts";

export interface UpstreamCredentials {
  /** The `Authorization` header value for this cluster, or undefined to send none. */
  authorization(cluster: KubeCluster): Promise<string | undefined>;
  /**
   * The same answer when it is at hand without waiting (a cached token not yet due for renewal):
   * the header, null to send none, undefined when `authorization` must be asked. Spares a request
   * the promise hops (the proxied path calls it first).
   */
  current?(cluster: KubeCluster): string | null | undefined;
}

/** A fixed bearer token for every cluster (tests, and clusters with `auth: none` use no header). */
export function staticCredentials(token: string | undefined): UpstreamCredentials {
  const header = (c: KubeCluster) => (c.spec.auth === "none" || !token ? undefined : `Bearer ${token}`);
  return { authorization: async (c) => header(c), current: (c) => header(c) ?? null };
}
