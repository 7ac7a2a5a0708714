// Verifies tokens from configured OIDC issuers (remote JWKS), maps their groups to kubeport roles,
// and names the person in Kubernetes with the issuer's prefixes (oidc-names.ts).
import { createRemoteJWKSet, customFetch, type JWTPayload, jwtVerify } from "jose";
import type { OidcIssuerConfig } from "../../config/index.ts";
import type { Clock } from "../../lib/clock.ts";
import { egressFetch } from "../../lib/egress/index.ts";
import { unavailable } from "../../lib/errors.ts";
import type { Identity } from "../identity.ts";
import { oidcNaming } from "./oidc-names.ts";
import {
  CLOCK_TOLERANCE_SEC,
  checkAlgorithm,
  OIDC_ALGORITHMS,
  type Peek,
  refused,
  verificationError,
} from "./token-checks.ts";

export interface OidcVerifier {
  issuer: string;
  verify(token: string, peeked: Peek): Promise<Identity>;
}

/** An issuer URL as compared here: a trailing slash is forgiven (issuers differ in writing one). */
export const issuerKey = (url: string) => url.replace(/\/+$/, "");

/** The issuer's OpenID discovery document (`<issuer>/.well-known/openid-configuration`). */
export async function fetchDiscovery(issuer: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
  const url = `${issuerKey(issuer)}/.well-known/openid-configuration`;
  const res = await egressFetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/**
 * Roles for a set of OIDC groups: the union of `groups_to_roles` entries, sorted. Keys are the
 * groups claim's raw values, as the issuer sends them (groups_prefix is for Kubernetes only). Only
 * the mapping's own keys count: a group named `constructor` or `__proto__` is an ordinary name.
 */
export function rolesForGroups(groups: readonly string[], mapping: Record<string, string[]>): string[] {
  const roles = new Set<string>();
  for (const g of groups) if (Object.hasOwn(mapping, g)) for (const r of mapping[g]!) roles.add(r);
  return [...roles].sort();
}

/** A claim's JSON type as a message names it. */
const typeOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "a list" : `a ${typeof v}`);

/**
 * The username claim, as kube-apiserver's OIDC authenticator reads it: one non-empty string (a list,
 * even of one string, is refused there and here: which of its values would be the person?).
 */
export function usernameOf(payload: JWTPayload, claim: string): string {
  const v = Object.hasOwn(payload, claim) ? payload[claim] : undefined;
  if (v === undefined || v === "") throw refused("claims", `token has no ${JSON.stringify(claim)} claim`);
  if (typeof v !== "string")
    throw refused(
      "claims",
      `token's ${JSON.stringify(claim)} claim is ${typeOf(v)}, not a string: the username must be one string`,
    );
  return v;
}

/** The groups claim: absent or null (no groups), one string, or a list of strings; anything else is refused. */
export function groupsOf(payload: JWTPayload, claim: string): string[] {
  const v = Object.hasOwn(payload, claim) ? payload[claim] : undefined;
  if (v === undefined || v === null) return [];
  if (typeof v === "string") return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  throw refused(
    "claims",
    `token's ${JSON.stringify(claim)} claim is ${Array.isArray(v) ? "a list holding a non-string" : typeOf(v)}: it must be a string or a list of strings`,
  );
}

/**
 * With the username taken from `email`, kube-apiserver refuses a token whose `email_verified` is
 * present and not `true` (OIDC Core §5.1: the issuer has not verified that the person owns it).
 */
export function checkEmailVerified(payload: JWTPayload, usernameClaim: string): void {
  if (usernameClaim !== "email" || !Object.hasOwn(payload, "email_verified")) return;
  if (payload.email_verified !== true)
    throw refused(
      "claims",
      `token's email is not verified (email_verified: ${JSON.stringify(payload.email_verified)}); the username claim is "email"`,
    );
}

/** Finds the JWKS URL from `<issuer>/.well-known/openid-configuration` (retried after a failure). */
function discoverJwksUrl(issuer: string): () => Promise<URL> {
  let found: Promise<URL> | undefined;
  return () => {
    found ??= (async () => {
      const doc = await fetchDiscovery(issuer);
      if (typeof doc.jwks_uri !== "string") throw new Error(`${issuer} discovery: no jwks_uri`);
      return new URL(doc.jwks_uri);
    })().catch((err) => {
      found = undefined;
      throw unavailable(`OIDC discovery for ${issuer} failed: ${(err as Error).message}`, err);
    });
    return found;
  };
}

/** A verifier for one configured OIDC issuer. Keys are fetched on first use and cached by jose. */
export function createOidcVerifier(cfg: OidcIssuerConfig, clock: Clock): OidcVerifier {
  const jwksUrl = cfg.jwks_url ? async () => new URL(cfg.jwks_url!) : discoverJwksUrl(cfg.issuer_url);
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  const naming = oidcNaming(cfg);
  const keySet = async () =>
    (jwks ??= createRemoteJWKSet(await jwksUrl(), {
      timeoutDuration: 5000,
      cooldownDuration: 30_000,
      // The key set is fetched through the egress proxy like every other outbound request.
      [customFetch]: (url, init) => egressFetch(url, init),
    }));

  return {
    issuer: cfg.issuer_url,
    async verify(token, { header, claims }) {
      checkAlgorithm(header, OIDC_ALGORITHMS);
      const keys = await keySet();
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          // Issuers differ on a trailing slash; accept the configured URL with or without one.
          issuer:
            typeof claims.iss === "string" && issuerKey(claims.iss) === issuerKey(cfg.issuer_url)
              ? claims.iss
              : cfg.issuer_url,
          audience: cfg.audience,
          algorithms: OIDC_ALGORITHMS,
          clockTolerance: CLOCK_TOLERANCE_SEC,
          currentDate: new Date(clock.now()),
          requiredClaims: ["exp"],
        }));
      } catch (err) {
        throw verificationError(err);
      }
      const claimed = usernameOf(payload, cfg.username_claim);
      checkEmailVerified(payload, cfg.username_claim);
      const groups = groupsOf(payload, cfg.groups_claim);
      return {
        // Prefixed (and refused when it would be a system: name) before anything else sees it.
        user: naming.user(claimed),
        claimedUser: claimed,
        roles: rolesForGroups(groups, cfg.groups_to_roles),
        groups,
        kubernetesGroups: naming.groups(groups),
        source: "oidc",
        issuer: cfg.issuer_url,
        ...(payload.exp !== undefined ? { expiresAt: payload.exp * 1000 } : {}),
        ...(typeof payload.jti === "string" ? { tokenId: payload.jti } : {}),
      };
    },
  };
}
