// AWS account simulator (EKS + STS over HTTP) for tests, benchmarks and the demo — never imported by production code.
export { EKS_REGIONS } from "./regions.ts";
export { startAwsSim } from "./server.ts";
export { loadSeedFile, parseSeed } from "./seed.ts";
export { DEFAULT_ACCOUNT, DEFAULT_PRINCIPAL, iamArnFor } from "./identity.ts";
export { ADMIN_POLICY, ACCESS_POLICIES } from "./access-entries.ts";
export { clusterArn } from "./cluster-store.ts";
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
