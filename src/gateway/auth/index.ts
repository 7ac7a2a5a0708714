// Authentication: kubeport-issued and OIDC bearer tokens, and the registry-held signing keys.
export {
  type AuthenticatorOptions,
  type ClosableAuthenticator,
  createAuthenticator,
} from "./authenticator.ts";
export {
  DEFAULT_AUDIENCE,
  DEFAULT_ISSUER,
  DEFAULT_TOKEN_TTL_MS,
  type IssueUserTokenOptions,
  issueStatusToken,
  issueUserToken,
  type KubeportClaims,
  kubeportIssuer,
  STATUS_AUDIENCE,
} from "./kubeport-tokens.ts";
export { fetchDiscovery, issuerKey, rolesForGroups } from "./oidc.ts";
export { oidcPrefixes } from "./oidc-names.ts";
export {
  activeSigningKey,
  ensureSigningKey,
  jwksDocument,
  listSigningKeys,
  loadJwks,
  MAX_TOKEN_TTL_MS,
  type RotateOptions,
  rotateSigningKey,
  verifyingKeys,
} from "./signing-keys.ts";
export { CLOCK_TOLERANCE_SEC, type RefusalReason, refusalReason, TokenRefused } from "./token-checks.ts";
