// The gateway: kubectl → authenticate → authorize → impersonate → the cluster's API server.
export { createGateway, type Gateway, type GatewayOptions } from "./gateway.ts";
export { createApp, type AppDeps } from "./app.ts";
export {
  createClusterCache,
  makeServedFilter,
  type ClusterCache,
  type ClusterCacheOptions,
} from "./cluster-cache.ts";
export { parseClusterPath, type ClusterPath } from "./cluster-path.ts";
export { checkCluster, createHealthChecker, type ClusterHealth, type HealthChecker } from "./health.ts";
export { staticCredentials, type UpstreamCredentials } from "./upstream/credentials.ts";
export {
  eksCredentials,
  makeEksToken,
  EKS_TOKEN_PREFIX,
  type EksCredentialsOptions,
} from "./upstream/eks-token.ts";
export { kubeStatus, UpstreamError, type KubeStatus } from "./status.ts";
export type * from "./identity.ts";
export {
  createAuthenticator,
  DEFAULT_TOKEN_TTL_MS,
  ensureSigningKey,
  issueStatusToken,
  issueUserToken,
  jwksDocument,
  kubeportIssuer,
  listSigningKeys,
  loadJwks,
  MAX_TOKEN_TTL_MS,
  fetchDiscovery,
  issuerKey,
  rolesForGroups,
  rotateSigningKey,
  type ClosableAuthenticator,
} from "./auth/index.ts";
export {
  AUTHENTICATED_GROUP,
  createRoleAuthorizer,
  createStaticAuthorizer,
  type RoleAuthorizer,
} from "./authorize.ts";
export { AUDIT_STREAM, createAuditSink, type AuditEntry, type BufferedAuditSink } from "./audit.ts";
