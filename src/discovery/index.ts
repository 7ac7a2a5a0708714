// EKS discovery: polls AWS EKS and keeps kube_cluster resources in the registry in step.
export { createDiscoveryService, type DiscoveryService, type DiscoveryServiceOptions, type PollResult } from "./service.ts";
export { EKS_REGIONS, expandRegions } from "./regions.ts";
export { reconcile, isOwned, type ReconcileInput, type ReconcilePlan } from "./reconcile.ts";
export { assignNames } from "./naming.ts";
export { toKubeCluster } from "./eks-cluster.ts";
export { createClusterMatcher } from "./matcher.ts";
export { toPrincipalArn } from "./access-entries.ts";
export { statusName } from "./status.ts";
export * from "./labels.ts";
export type { EksClusterInfo, FoundCluster, FetchResult } from "./types.ts";
