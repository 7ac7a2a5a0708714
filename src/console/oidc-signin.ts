// The console's OIDC sign-in: Authorization Code + PKCE from the gateway, the state/nonce/verifier
// kept in a short-lived cookie of this browser, checked at the callback.
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { OidcIssuerConfig } from "../config/index.ts";
import {
  authorizeUrl,
  challengeOf,
  discoverEndpoints,
  exchangeCode,
  newState,
  newVerifier,
  scopesFor,
} from "../lib/oauth/index.ts";
import { clearCookie, OIDC_COOKIE } from "./security.ts";

/** The console's redirect URI at this gateway (register it with the issuer). */
export const CALLBACK_PATH = "/web/oidc/callback";
const FLOW_MAX_AGE_S = 600;

interface Flow {
  issuer: string;
  state: string;
  nonce: string;
  verifier: string;
}

export const redirectUri = (publicAddr: string) => `https://${publicAddr}${CALLBACK_PATH}`;

/** Starts a sign-in with `cfg`: remembers the flow in this browser, returns the issuer's authorize URL. */
export async function startOidcSignIn(
  c: Context,
  cfg: OidcIssuerConfig,
  publicAddr: string,
): Promise<string> {
  const endpoints = await discoverEndpoints(cfg.issuer_url);
  if (!endpoints.authorization_endpoint) throw new Error(`${cfg.issuer_url} names no authorization_endpoint`);
  const flow: Flow = {
    issuer: cfg.issuer_url,
    state: newState(),
    nonce: newState(),
    verifier: newVerifier(),
  };
  // Lax: the issuer sends the browser back with a cross-site redirect, which Strict cookies do not follow.
  setCookie(c, OIDC_COOKIE, Buffer.from(JSON.stringify(flow)).toString("base64url"), {
    path: "/",
    secure: true,
    httpOnly: true,
    sameSite: "Lax",
    maxAge: FLOW_MAX_AGE_S,
  });
  return authorizeUrl({
    authorizationEndpoint: endpoints.authorization_endpoint,
    clientId: cfg.client_id ?? cfg.audience,
    redirectUri: redirectUri(publicAddr),
    state: flow.state,
    nonce: flow.nonce,
    challenge: challengeOf(flow.verifier),
    scopes: scopesFor(cfg.username_claim),
  });
}

/** Why a callback is refused (shown to the person; nothing is signed in). */
export class CallbackRefused extends Error {}

/**
 * Checks the callback against this browser's flow (state) and redeems the code with the flow's
 * verifier; returns the ID token and the nonce it must carry. The flow cookie is cleared either way.
 */
export async function finishOidcSignIn(
  c: Context,
  issuers: readonly OidcIssuerConfig[],
  publicAddr: string,
): Promise<{ idToken: string; nonce: string }> {
  const raw = getCookie(c, OIDC_COOKIE);
  clearCookie(c, OIDC_COOKIE, "Lax");
  let flow: Flow | undefined;
  try {
    flow = raw ? (JSON.parse(Buffer.from(raw, "base64url").toString()) as Flow) : undefined;
  } catch {}
  const q = c.req.query();
  if (q.error)
    throw new CallbackRefused(
      `the issuer refused the sign-in: ${q.error}${q.error_description ? ` (${q.error_description})` : ""}`,
    );
  if (!flow || typeof flow.state !== "string")
    throw new CallbackRefused(
      "no sign-in was started in this browser (or it took over 10 minutes); start again",
    );
  if (!q.state || q.state !== flow.state)
    throw new CallbackRefused("the sign-in's state does not match this browser's; start again");
  if (!q.code) throw new CallbackRefused("the issuer sent no code");
  const cfg = issuers.find((o) => o.issuer_url === flow.issuer);
  if (!cfg) throw new CallbackRefused("that issuer is no longer configured");
  const endpoints = await discoverEndpoints(cfg.issuer_url);
  if (!endpoints.token_endpoint) throw new CallbackRefused(`${cfg.issuer_url} names no token_endpoint`);
  const tokens = await exchangeCode({
    tokenEndpoint: endpoints.token_endpoint,
    clientId: cfg.client_id ?? cfg.audience,
    ...(cfg.client_secret ? { clientSecret: cfg.client_secret } : {}),
    code: q.code,
    redirectUri: redirectUri(publicAddr),
    verifier: flow.verifier,
  }).catch((err) => {
    throw new CallbackRefused(`the issuer did not accept the code: ${(err as Error).message}`);
  });
  if (!tokens.id_token) throw new CallbackRefused("the issuer answered without an ID token");
  return { idToken: tokens.id_token, nonce: flow.nonce };
}
