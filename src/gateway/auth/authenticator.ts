// The gateway's Authenticator: Bearer token → Identity, choosing kubeport or an OIDC issuer by `iss`.
import type { OidcIssuerConfig } from "../../config/index.ts";
import { type Clock, systemClock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/log.ts";
import type { Backend } from "../../registry/index.ts";
import type { Authenticator } from "../identity.ts";
import { createKubeportVerifier, createStatusVerifier } from "./jwt.ts";
import { createKeyCache } from "./key-cache.ts";
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, STATUS_AUDIENCE } from "./kubeport-tokens.ts";
import { createOidcVerifier, issuerKey } from "./oidc.ts";
import { bearerToken, peek, refused } from "./token-checks.ts";

export interface AuthenticatorOptions {
  backend: Backend;
  /** `iss` of kubeport tokens (see kubeportIssuer); default "kubeport". */
  issuer?: string;
  audience?: string;
  oidc?: readonly OidcIssuerConfig[];
  clock?: Clock;
  log: Logger;
  /** proxy_service.max_token_ttl: the longest life a kubeport user token may claim; default 30 h. */
  maxTokenTtlMs?: number;
  /** Login sessions seen signed out elsewhere (KubeportVerifierOptions.endedSession). */
  endedSession?: (sid: string) => boolean;
}

export interface ClosableAuthenticator extends Authenticator {
  /** Stops the registry watch. */
  close(): void;
}

/**
 * Creates the authenticator. Refusals throw KubeportError "unauthenticated" whose message is the
 * reason (no token, malformed, algorithm not allowed, unknown key, bad signature, expired, not yet
 * valid, wrong issuer / audience, user gone or re-created); OIDC key fetch failures are "unavailable".
 */
export function createAuthenticator({
  backend,
  issuer = DEFAULT_ISSUER,
  audience = DEFAULT_AUDIENCE,
  oidc = [],
  clock = systemClock,
  log,
  maxTokenTtlMs,
  endedSession,
}: AuthenticatorOptions): ClosableAuthenticator {
  const keys = createKeyCache({ backend, clock, log });
  const kubeport = createKubeportVerifier({
    keys,
    issuer,
    audience,
    clock,
    oidc,
    ...(maxTokenTtlMs !== undefined ? { maxTokenTtlMs } : {}),
    ...(endedSession ? { endedSession } : {}),
  });
  const status = createStatusVerifier({ keys, issuer, clock });
  const oidcByIssuer = new Map(
    oidc.map((cfg) => [issuerKey(cfg.issuer_url), createOidcVerifier(cfg, clock)]),
  );

  return {
    async authenticate(authorization) {
      const token = bearerToken(authorization);
      const peeked = peek(token);
      const iss = peeked.claims.iss;
      if (typeof iss !== "string") throw refused("issuer", "wrong issuer: token has no iss claim");
      if (iss === issuer) return kubeport(token, peeked);
      const verifier = oidcByIssuer.get(issuerKey(iss));
      if (verifier) return verifier.verify(token, peeked);
      throw refused("issuer", `wrong issuer ${JSON.stringify(iss)}`);
    },
    async isStatusReader(authorization) {
      const token = bearerToken(authorization);
      const peeked = peek(token);
      if (peeked.claims.iss !== issuer || peeked.claims.aud !== STATUS_AUDIENCE) return false;
      await status(token, peeked);
      return true;
    },
    close() {
      keys.close();
    },
  };
}
