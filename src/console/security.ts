// The console's browser-facing protections: response headers (CSP without inline script), cookie
// settings, and CSRF tokens for every form.
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { digestOf, randomSecret, sameSecret } from "../gateway/index.ts";

/** The session cookie: `__Host-` keeps it to this exact host and path /, over HTTPS only. */
export const SESSION_COOKIE = "__Host-kubeport_session";
/** Before sign-in: a random value the sign-in and invite forms echo back (double submit). */
export const PRESESSION_COOKIE = "__Host-kubeport_pre";
/** The console's OIDC sign-in in flight (state, nonce, PKCE verifier): SameSite=Lax, as the issuer redirects back cross-site. */
export const OIDC_COOKIE = "__Host-kubeport_oidc";

/**
 * No inline script or style anywhere; scripts only from /web/assets; WebAssembly for the asciinema
 * player's terminal; nothing may frame the console; forms post only here.
 */
export const CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

export function securityHeaders(c: Context): void {
  c.header("content-security-policy", CSP);
  c.header("x-frame-options", "DENY");
  c.header("x-content-type-options", "nosniff");
  c.header("referrer-policy", "no-referrer");
  c.header("cross-origin-opener-policy", "same-origin");
  c.header("strict-transport-security", "max-age=31536000");
  if (!c.res.headers.get("cache-control")) c.header("cache-control", "no-store");
}

const cookieBase = { path: "/", secure: true, httpOnly: true } as const;

export function setSessionCookie(c: Context, secret: string, maxAgeS: number): void {
  setCookie(c, SESSION_COOKIE, secret, {
    ...cookieBase,
    sameSite: "Strict",
    maxAge: Math.max(1, Math.floor(maxAgeS)),
  });
}

export function clearCookie(c: Context, name: string, sameSite: "Strict" | "Lax" = "Strict"): void {
  setCookie(c, name, "", { ...cookieBase, sameSite, maxAge: 0 });
}

/** The signed-in form token: derived from the session secret, so it needs no storage and dies with it. */
export const sessionCsrf = (sessionSecret: string): string =>
  digestOf(`csrf\u0000${sessionSecret}`).slice(0, 43);

/** The pre-session value (set when missing) whose copy the sign-in and invite forms carry. */
export function preSessionCsrf(c: Context): string {
  let v = getCookie(c, PRESESSION_COOKIE);
  if (!v || !/^[A-Za-z0-9_-]{43}$/.test(v)) {
    v = randomSecret();
    setCookie(c, PRESESSION_COOKIE, v, { ...cookieBase, sameSite: "Strict", maxAge: 3600 });
  }
  return v;
}

/** True when a posted form's `csrf` matches what this browser's cookie expects. */
export function csrfMatches(posted: unknown, expected: string | undefined): boolean {
  return (
    typeof posted === "string" && expected !== undefined && expected !== "" && sameSecret(posted, expected)
  );
}
