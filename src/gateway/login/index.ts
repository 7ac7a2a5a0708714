// Signing in: local users (password + TOTP, set through one-time invites), OIDC, login sessions and
// the per-cluster tokens issued from them.
export { type Attempts, createAttempts, LockedOut } from "./attempts.ts";
export {
  acceptInvite,
  findInvite,
  INVITE_PATH,
  type InviteProblem,
  type IssuedInvite,
  inviteProblemText,
  issueInvite,
} from "./invites.ts";
export { checkNewPassword, MIN_PASSWORD_LENGTH } from "./password.ts";
export { type AuthRouteDeps, authRoutes, clientAddress } from "./routes.ts";
export { digestOf, randomSecret, sameSecret } from "./secrets.ts";
export {
  type AuthSettings,
  BAD_CREDENTIALS,
  CLUSTER_TOKEN_TTL_MS,
  createLoginService,
  displayName,
  endUserSessions,
  type LoginService,
  type LoginServiceOptions,
  type SignedIn,
} from "./service.ts";
export { SESSION_PREFIX, sessionExpiry, sessionTtl } from "./sessions.ts";
export { acceptTotp, newTotpSecret, totpCode, totpUri } from "./totp.ts";
