// AWS account simulator (EKS + STS over HTTP) for tests, benchmarks and the demo — never imported by production code.

export { ACCESS_POLICIES, ADMIN_POLICY } from "./access-entries.ts";
export { clusterArn } from "./cluster-store.ts";
export { DEFAULT_ACCOUNT, DEFAULT_PRINCIPAL, iamArnFor } from "./identity.ts";
export { EKS_REGIONS } from "./regions.ts";
export { loadSeedFile, parseSeed } from "./seed.ts";
export { startAwsSim } from "./server.ts";
export type {
  AccessEntryView,
  AuthenticationMode,
  AwsSim,
  AwsSimOptions,
  ClusterStatus,
  FaultKind,
  SimAccessEntrySeed,
  SimAccountSeed,
  SimCall,
  SimCluster,
  SimClusterSeed,
  SimFault,
  SimPrincipalSeed,
  SimRoleSeed,
  SimState,
} from "./types.ts";
export { FAULT_KINDS } from "./types.ts";
