// Authentication: kubeport-issued and OIDC bearer tokens, and the registry-held signing keys.
export { createAuthenticator, type AuthenticatorOptions, type ClosableAuthenticator } from "./authenticator.ts";
export {
  DEFAULT_AUDIENCE,
  DEFAULT_ISSUER,
  DEFAULT_TOKEN_TTL_MS,
  issueUserToken,
  kubeportIssuer,
  type IssueUserTokenOptions,
  type KubeportClaims,
} from "./kubeport-tokens.ts";
export { rolesForGroups } from "./oidc.ts";
export {
  activeSigningKey,
  ensureSigningKey,
  jwksDocument,
  listSigningKeys,
  loadJwks,
  MAX_TOKEN_TTL_MS,
  rotateSigningKey,
  verifyingKeys,
  type RotateOptions,
} from "./signing-keys.ts";
export { CLOCK_TOLERANCE_SEC } from "./token-checks.ts";
