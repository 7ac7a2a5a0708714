// Verifies kubeport-issued user tokens against the registry's signing keys and current user records.
import { jwtVerify } from "jose";
import type { OidcIssuerConfig } from "../../config/index.ts";
import type { Clock } from "../../lib/clock.ts";
import { formatDuration } from "../../lib/duration.ts";
import type { Identity } from "../identity.ts";
import { CLUSTER_TOKEN_TTL_MS } from "./cluster-tokens.ts";
import type { KeyCache } from "./key-cache.ts";
import { STATUS_AUDIENCE, STATUS_SUBJECT, STATUS_TOKEN_MAX_S } from "./kubeport-tokens.ts";
import { sessionIdentity } from "./session-identity.ts";
import { MAX_TOKEN_TTL_MS } from "./signing-keys.ts";
import {
  CLOCK_TOLERANCE_SEC,
  checkAlgorithm,
  KUBEPORT_ALGORITHMS,
  type Peek,
  refused,
  verificationError,
} from "./token-checks.ts";

export interface KubeportVerifierOptions {
  keys: KeyCache;
  issuer: string;
  audience: string;
  clock: Clock;
  /** Issuers a login session may name (cluster tokens of OIDC people). */
  oidc?: readonly OidcIssuerConfig[];
  /** The longest life (exp - iat) a user token may claim (proxy_service.max_token_ttl); default 30 h. */
  maxTokenTtlMs?: number;
  /**
   * True for a login session another view has seen signed out (the gateway's cluster cache). The key
   * cache follows the registry on a watch of its own, which can lag the cache that ends streams and
   * clears verified tokens: without this a token re-verified in that gap would be accepted again.
   */
  endedSession?: (sid: string) => boolean;
}

type Payload = Awaited<ReturnType<typeof jwtVerify>>["payload"];

/**
 * Signature, algorithm, key, issuer, audience and times of a kubeport-signed token: `iat` may not be
 * in the future (so `exp - iat` bounds how far ahead `exp` can be), and the token may not claim a
 * life longer than `maxLifeSec`, whoever signed it.
 */
async function verifySigned(
  { keys, issuer, clock }: Omit<KubeportVerifierOptions, "audience">,
  audience: string,
  token: string,
  { header }: Peek,
  maxLife: { sec: number; what: string },
): Promise<Payload> {
  checkAlgorithm(header, KUBEPORT_ALGORITHMS);
  if (typeof header.kid !== "string" || header.kid === "")
    throw refused("unknown_key", "token has no key id (kid)");
  const key = await keys.verifyingKey(header.kid);
  if (!key) throw refused("unknown_key", `unknown signing key ${JSON.stringify(header.kid)}`);
  try {
    const { payload } = await jwtVerify(token, key, {
      issuer,
      audience,
      algorithms: KUBEPORT_ALGORITHMS,
      clockTolerance: CLOCK_TOLERANCE_SEC,
      currentDate: new Date(clock.now()),
      requiredClaims: ["sub", "exp", "iat"],
      // Checks that iat is not in the future (and no older than any token may live).
      maxTokenAge: maxLife.sec,
    });
    if (payload.exp! - payload.iat! > maxLife.sec)
      throw refused(
        "claims",
        `token claims a life of ${formatDuration((payload.exp! - payload.iat!) * 1000)}; ${maxLife.what} live at most ${formatDuration(maxLife.sec * 1000)}`,
      );
    return payload;
  } catch (err) {
    throw verificationError(err);
  }
}

/** Verifies a `ctl` status token (STATUS_AUDIENCE); throws unauthenticated with the reason. */
export function createStatusVerifier(opts: Omit<KubeportVerifierOptions, "audience">) {
  return async function verify(token: string, peeked: Peek): Promise<void> {
    // ctl signs them for 60 s: a long-lived one is not ctl's, whoever holds the key.
    const payload = await verifySigned(opts, STATUS_AUDIENCE, token, peeked, {
      sec: STATUS_TOKEN_MAX_S,
      what: "status tokens",
    });
    if (payload.sub !== STATUS_SUBJECT) throw refused("claims", "not a status token");
  };
}

/** Verifies a kubeport token whose unverified `iss` is ours; throws unauthenticated with the reason. */
export function createKubeportVerifier({
  keys,
  issuer,
  audience,
  clock,
  oidc = [],
  maxTokenTtlMs = MAX_TOKEN_TTL_MS,
  endedSession = () => false,
}: KubeportVerifierOptions) {
  const userLife = {
    sec: Math.floor(maxTokenTtlMs / 1000),
    what: "kubeport tokens (proxy_service.max_token_ttl)",
  };
  const clusterLife = { sec: Math.ceil(CLUSTER_TOKEN_TTL_MS / 1000), what: "cluster tokens" };
  return async function verify(token: string, peeked: Peek): Promise<Identity> {
    const payload = await verifySigned(
      { keys, issuer, clock },
      audience,
      token,
      peeked,
      peeked.claims.sid !== undefined ? clusterLife : userLife,
    );
    // The key that signed it: a stream it opened ends when that key is retired (sessions/access-check.ts).
    const keyId = { keyId: String(peeked.header.kid) };
    if (payload.sid !== undefined) return { ...(await fromSession(payload)), ...keyId };
    const name = payload.sub!;
    const user = await keys.user(name);
    if (!user) throw refused("user", `user ${JSON.stringify(name)} no longer exists`);
    if (payload.user_created !== user.spec.created) {
      throw refused(
        "user",
        `token was issued to an earlier user ${JSON.stringify(name)} (the user was re-created)`,
      );
    }
    return {
      user: name,
      roles: [...user.spec.roles],
      source: "kubeport",
      issuer,
      expiresAt: payload.exp! * 1000,
      userCreated: user.spec.created,
      ...(typeof payload.jti === "string" ? { tokenId: payload.jti } : {}),
      ...keyId,
    };
  };

  /** A cluster token: the session it names must be live and the person in it the token's subject. */
  async function fromSession(payload: Payload): Promise<Identity> {
    const { sid, kube_cluster: cluster } = payload;
    if (typeof sid !== "string" || typeof cluster !== "string" || cluster === "")
      throw refused("malformed", "malformed cluster token (sid and kube_cluster)");
    const session = endedSession(sid) ? undefined : await keys.session(sid);
    if (!session || !((Date.parse(session.metadata.expires ?? "") || 0) > clock.now()))
      throw refused("expired", "your login session has ended (signed out or expired): run kubeport login");
    if (session.spec.user !== payload.sub)
      throw refused("claims", "token subject does not match its session");
    const identity = await sessionIdentity(session, { user: (n) => keys.user(n), oidc, issuer });
    return {
      ...identity,
      clusterScope: cluster,
      ...(typeof payload.jti === "string" ? { tokenId: payload.jti } : {}),
    };
  }
}
