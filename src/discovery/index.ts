// EKS discovery: polls AWS EKS and keeps kube_cluster resources in the registry in step.

export { toPrincipalArn } from "./access-entries.ts";
export { toKubeCluster } from "./eks-cluster.ts";
export * from "./labels.ts";
export { createClusterMatcher } from "./matcher.ts";
export { assignNames } from "./naming.ts";
export { isOwned, type ReconcileInput, type ReconcilePlan, reconcile } from "./reconcile.ts";
export { EKS_REGIONS, expandRegions } from "./regions.ts";
export {
  createDiscoveryService,
  type DiscoveryService,
  type DiscoveryServiceOptions,
  type PollResult,
} from "./service.ts";
export { statusName } from "./status.ts";
export type { EksClusterInfo, FoundCluster, ScopeFetch } from "./types.ts";
