// OAuth 2.0 / OIDC client pieces shared by `kubeport login` and the web console: PKCE, the code
// flow, the device grant, endpoint discovery.
export { type AuthorizeUrlInput, authorizeUrl, exchangeCode, scopesFor } from "./code-flow.ts";
export {
  DEVICE_GRANT,
  type DeviceAuthorization,
  type PollOptions,
  pollDeviceToken,
  startDeviceAuthorization,
} from "./device-flow.ts";
export { discoverEndpoints, type OAuthEndpoints } from "./endpoints.ts";
export { challengeOf, newState, newVerifier } from "./pkce.ts";
export { OAuthError, type TokenResponse, tokenRequest } from "./token-request.ts";
