// Per-cluster tokens issued from a login session (`kubeport kube credentials`): short-lived ES256 JWTs
// that name the session (`sid`) and the one cluster they open (`kube_cluster`).

import { SignJWT } from "jose";
import { type Clock, systemClock } from "../../lib/clock.ts";
import type { Backend } from "../../registry/index.ts";
import { DEFAULT_AUDIENCE } from "./kubeport-tokens.ts";
import { privateKeyOf } from "./private-keys.ts";
import { ensureSigningKey, SIGNING_ALG } from "./signing-keys.ts";

/** A cluster token's longest life: a leaked one is soon useless; kubectl's plugin renews it silently. */
export const CLUSTER_TOKEN_TTL_MS = 10 * 60_000;

export interface ClusterTokenInput {
  /** The name the gateway knows the person by (Identity.user). */
  user: string;
  /** The login session's registry name. */
  sessionId: string;
  /** The session's end (ms): the token never outlives it. */
  sessionExpiresAt: number;
  cluster: string;
  issuer: string;
  clock?: Clock;
}

/** Signs a token for one cluster; returns it with its expiry (ms). */
export async function issueClusterToken(
  backend: Backend,
  { user, sessionId, sessionExpiresAt, cluster, issuer, clock = systemClock }: ClusterTokenInput,
): Promise<{ token: string; expiresAt: number }> {
  const key = await ensureSigningKey(backend, { clock });
  const now = clock.now();
  const exp = Math.floor(Math.min(now + CLUSTER_TOKEN_TTL_MS, sessionExpiresAt) / 1000);
  const token = await new SignJWT({ sid: sessionId, kube_cluster: cluster })
    .setProtectedHeader({ alg: SIGNING_ALG, kid: String(key.spec.public_jwk.kid), typ: "JWT" })
    .setIssuer(issuer)
    .setAudience(DEFAULT_AUDIENCE)
    .setSubject(user)
    .setJti(crypto.randomUUID())
    .setIssuedAt(Math.floor(now / 1000))
    .setNotBefore(Math.floor(now / 1000))
    .setExpirationTime(exp)
    .sign(await privateKeyOf(key));
  return { token, expiresAt: exp * 1000 };
}
