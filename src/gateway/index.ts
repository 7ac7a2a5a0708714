// The gateway: kubectl → authenticate → authorize → impersonate → the cluster's API server.

export { type AppDeps, createApp, type GatewayEnv } from "./app.ts";
export { type AuditSinkOptions, type BufferedAuditSink, createAuditSink } from "./audit/index.ts";
export {
  type ClosableAuthenticator,
  createAuthenticator,
  DEFAULT_TOKEN_TTL_MS,
  ensureSigningKey,
  fetchDiscovery,
  issuerKey,
  issueStatusToken,
  issueUserToken,
  jwksDocument,
  kubeportIssuer,
  listSigningKeys,
  loadJwks,
  MAX_TOKEN_TTL_MS,
  oidcPrefixes,
  rolesForGroups,
  rotateSigningKey,
} from "./auth/index.ts";
export {
  AUTHENTICATED_GROUP,
  createRoleAuthorizer,
  createStaticAuthorizer,
  type RoleAuthorizer,
} from "./authorize.ts";
export {
  type ClusterCache,
  type ClusterCacheOptions,
  createClusterCache,
  makeServedFilter,
} from "./cluster-cache.ts";
export { type ClusterPath, parseClusterPath } from "./cluster-path.ts";
export { createGateway, type Gateway, type GatewayOptions, type WebDeps } from "./gateway.ts";
export {
  type ClusterHealth,
  checkCluster,
  createHealthChecker,
  HEALTH_CHECK_USER_AGENT,
  type HealthChecker,
} from "./health.ts";
export type * from "./identity.ts";
export * from "./login/index.ts";
export { type KubeStatus, kubeStatus, UpstreamError } from "./status.ts";
export { staticCredentials, type UpstreamCredentials } from "./upstream/credentials.ts";
export {
  EKS_TOKEN_PREFIX,
  type EksCredentialsOptions,
  eksCredentials,
  makeEksToken,
} from "./upstream/eks-token.ts";
