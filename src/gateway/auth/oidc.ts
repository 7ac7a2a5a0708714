// Verifies tokens from configured OIDC issuers (remote JWKS), maps their groups to kubeport roles,
// and names the person in Kubernetes with the issuer's prefixes (oidc-names.ts).
import { createRemoteJWKSet, customFetch, type JWTPayload, jwtVerify } from "jose";
import type { OidcIssuerConfig } from "../../config/index.ts";
import type { Clock } from "../../lib/clock.ts";
import { egressFetch } from "../../lib/egress/index.ts";
import { unauthenticated, unavailable } from "../../lib/errors.ts";
import type { Identity } from "../identity.ts";
import { oidcNaming } from "./oidc-names.ts";
import {
  CLOCK_TOLERANCE_SEC,
  checkAlgorithm,
  OIDC_ALGORITHMS,
  type Peek,
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
 * groups claim's raw values, as the issuer sends them (groups_prefix is for Kubernetes only).
 */
export function rolesForGroups(groups: readonly string[], mapping: Record<string, string[]>): string[] {
  const roles = new Set<string>();
  for (const g of groups) for (const r of mapping[g] ?? []) roles.add(r);
  return [...roles].sort();
}

function claimStrings(payload: JWTPayload, claim: string): string[] {
  const v = payload[claim];
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return [];
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
      const claimed = claimStrings(payload, cfg.username_claim)[0];
      if (!claimed) throw unauthenticated(`token has no ${JSON.stringify(cfg.username_claim)} claim`);
      const groups = claimStrings(payload, cfg.groups_claim);
      return {
        // Prefixed (and refused when it would be a system: name) before anything else sees it.
        user: naming.user(claimed),
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
