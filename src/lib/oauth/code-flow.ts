// Authorization Code + PKCE (RFC 6749 §4.1, RFC 7636): the authorize URL and the code exchange.
import { type TokenResponse, tokenRequest } from "./token-request.ts";

export interface AuthorizeUrlInput {
  authorizationEndpoint: string;
  clientId: string;
  redirectUri: string;
  state: string;
  nonce: string;
  challenge: string;
  scopes: readonly string[];
}

export function authorizeUrl(i: AuthorizeUrlInput): string {
  const u = new URL(i.authorizationEndpoint);
  u.searchParams.set("response_type", "code");
  u.searchParams.set("client_id", i.clientId);
  u.searchParams.set("redirect_uri", i.redirectUri);
  u.searchParams.set("scope", i.scopes.join(" "));
  u.searchParams.set("state", i.state);
  u.searchParams.set("nonce", i.nonce);
  u.searchParams.set("code_challenge", i.challenge);
  u.searchParams.set("code_challenge_method", "S256");
  return u.toString();
}

export function exchangeCode(i: {
  tokenEndpoint: string;
  clientId: string;
  clientSecret?: string;
  code: string;
  redirectUri: string;
  verifier: string;
}): Promise<TokenResponse> {
  return tokenRequest(
    i.tokenEndpoint,
    {
      grant_type: "authorization_code",
      code: i.code,
      redirect_uri: i.redirectUri,
      client_id: i.clientId,
      code_verifier: i.verifier,
    },
    i.clientSecret ? { clientSecret: i.clientSecret } : {},
  );
}

/** The scopes kubeport asks for: openid, and the standard scope that carries the username claim. */
export function scopesFor(usernameClaim: string): string[] {
  const scopes = ["openid"];
  if (usernameClaim === "email") scopes.push("email");
  if (["preferred_username", "name", "nickname"].includes(usernameClaim)) scopes.push("profile");
  return scopes;
}
