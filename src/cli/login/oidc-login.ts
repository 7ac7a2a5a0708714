// Signing in with an OIDC issuer from the terminal: Authorization Code + PKCE with a loopback
// redirect (RFC 8252; tsh's shape: a local server on 127.0.0.1, the browser sent to the issuer), or
// the Device Authorization Grant (RFC 8628) on a host without a browser.
import { decodeJwt } from "jose";
import { KubeportError } from "../../lib/errors.ts";
import {
  authorizeUrl,
  challengeOf,
  discoverEndpoints,
  exchangeCode,
  newState,
  newVerifier,
  pollDeviceToken,
  startDeviceAuthorization,
} from "../../lib/oauth/index.ts";
import { openBrowser } from "./browser.ts";

export interface IssuerChoice {
  name: string;
  issuer_url: string;
  client_id: string;
  scopes: string[];
}

export interface OidcLoginOptions {
  issuer: IssuerChoice;
  env: Record<string, string | undefined>;
  /** Where instructions go (stderr: stdout may be kubectl's). */
  say(text: string): void;
  /** "none": print the URL only. */
  browser?: string;
  /** How long to wait for the browser (tsh: 180 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const page = (title: string, text: string) =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`;
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The ID token's nonce must be this sign-in's (an ID token from another one is refused). */
function checkNonce(idToken: string, nonce: string): void {
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(idToken) as Record<string, unknown>;
  } catch {
    throw new KubeportError("unauthenticated", "the issuer's ID token is malformed");
  }
  if (claims.nonce !== nonce)
    throw new KubeportError("unauthenticated", "the ID token's nonce is not this sign-in's; sign in again");
}

/** Browser sign-in through a loopback callback; resolves to the ID token. */
export async function browserLogin({
  issuer,
  env,
  say,
  browser,
  timeoutMs = 180_000,
  signal,
}: OidcLoginOptions): Promise<string> {
  const endpoints = await discoverEndpoints(issuer.issuer_url);
  if (!endpoints.authorization_endpoint || !endpoints.token_endpoint)
    throw new KubeportError("unavailable", `${issuer.issuer_url} names no authorization or token endpoint`);
  const state = newState();
  const nonce = newState();
  const verifier = newVerifier();
  let settle!: { resolve: (code: string) => void; reject: (e: Error) => void };
  const gotCode = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  // Loopback only (RFC 8252 §8.3), any free port; one good callback ends it.
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const u = new URL(req.url);
      if (u.pathname !== "/callback") return new Response("not found", { status: 404 });
      const error = u.searchParams.get("error");
      if (u.searchParams.get("state") !== state)
        return new Response(
          page("Sign-in refused", "This callback does not belong to the sign-in kubeport started."),
          {
            status: 400,
            headers: { "content-type": "text/html; charset=utf-8" },
          },
        );
      if (error) {
        const desc = u.searchParams.get("error_description");
        settle.reject(
          new KubeportError(
            "unauthenticated",
            `the issuer refused the sign-in: ${error}${desc ? ` (${desc})` : ""}`,
          ),
        );
        return new Response(page("Sign-in failed", escapeHtml(`${error}${desc ? `: ${desc}` : ""}`)), {
          status: 400,
          headers: { "content-type": "text/html; charset=utf-8" },
        });
      }
      const code = u.searchParams.get("code");
      if (!code)
        return new Response(page("Sign-in refused", "No code."), {
          status: 400,
          headers: { "content-type": "text/html; charset=utf-8" },
        });
      settle.resolve(code);
      return new Response(
        page("Signed in to kubeport", "You can close this tab and return to the terminal."),
        {
          headers: { "content-type": "text/html; charset=utf-8" },
        },
      );
    },
  });
  const redirectUri = `http://127.0.0.1:${server.port}/callback`;
  const url = authorizeUrl({
    authorizationEndpoint: endpoints.authorization_endpoint,
    clientId: issuer.client_id,
    redirectUri,
    state,
    nonce,
    challenge: challengeOf(verifier),
    scopes: issuer.scopes,
  });
  const opened = openBrowser(url, env, browser);
  say(
    opened
      ? `If browser window does not open automatically, open it by clicking on the link:\n ${url}\n`
      : `Use the following URL to authenticate:\n ${url}\n`,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const code = await Promise.race([
      gotCode,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new KubeportError("unavailable", "timed out waiting for callback")),
          timeoutMs,
        );
        signal?.addEventListener("abort", () => reject(new KubeportError("unavailable", "interrupted")), {
          once: true,
        });
      }),
    ]);
    const tokens = await exchangeCode({
      tokenEndpoint: endpoints.token_endpoint,
      clientId: issuer.client_id,
      code,
      redirectUri,
      verifier,
    });
    if (!tokens.id_token)
      throw new KubeportError("unauthenticated", "the issuer answered without an ID token");
    checkNonce(tokens.id_token, nonce);
    return tokens.id_token;
  } finally {
    clearTimeout(timer);
    // Let the success page reach the browser first.
    setTimeout(() => server.stop(true), 200).unref?.();
  }
}

/** Device sign-in: the person approves a code on any device; resolves to the ID token. */
export async function deviceLogin({
  issuer,
  say,
  signal,
  sleep,
}: OidcLoginOptions & { sleep?: (ms: number) => Promise<void> }): Promise<string> {
  const endpoints = await discoverEndpoints(issuer.issuer_url);
  if (!endpoints.device_authorization_endpoint || !endpoints.token_endpoint)
    throw new KubeportError(
      "unavailable",
      `${issuer.issuer_url} does not offer the device authorization grant (no device_authorization_endpoint); sign in without --headless`,
    );
  const device = await startDeviceAuthorization(
    endpoints.device_authorization_endpoint,
    issuer.client_id,
    issuer.scopes,
  );
  say(
    `To sign in, open ${device.verification_uri} on any device and enter the code ${device.user_code}\n${
      device.verification_uri_complete ? `(or open ${device.verification_uri_complete})\n` : ""
    }Waiting for approval…\n`,
  );
  const tokens = await pollDeviceToken({
    tokenEndpoint: endpoints.token_endpoint,
    clientId: issuer.client_id,
    device,
    ...(signal ? { signal } : {}),
    ...(sleep ? { sleep } : {}),
  }).catch((err) => {
    const code = (err as { code?: string }).code;
    if (code === "access_denied")
      throw new KubeportError("unauthenticated", "the sign-in was refused on the device page");
    if (code === "expired_token")
      throw new KubeportError(
        "unauthenticated",
        "the code expired before it was approved; run kubeport login again",
      );
    throw err;
  });
  if (!tokens.id_token) throw new KubeportError("unauthenticated", "the issuer answered without an ID token");
  return tokens.id_token;
}
