// Issues kubeport user tokens: ES256 JWTs signed with the registry's active signing key.
import { SignJWT } from "jose";
import type { ProxyServiceConfig } from "../../config/index.ts";
import { type Clock, systemClock } from "../../lib/clock.ts";
import { badParameter, notFound } from "../../lib/errors.ts";
import type { Backend, User } from "../../registry/index.ts";
import { privateKeyOf } from "./private-keys.ts";
import {
  activeSigningKey,
  ensureSigningKey,
  listSigningKeys,
  MAX_TOKEN_TTL_MS,
  SIGNING_ALG,
} from "./signing-keys.ts";

export const DEFAULT_AUDIENCE = "kubeport";
export const DEFAULT_ISSUER = "kubeport";
export const DEFAULT_TOKEN_TTL_MS = 8 * 3_600_000;

/**
 * Audience of the short-lived tokens `ctl` signs to read every served cluster's health from a
 * gateway (`ctl kube ls` without --token). Only /v1/status/clusters accepts it: the user-token
 * verifier wants DEFAULT_AUDIENCE, so it reaches no cluster. Whoever can sign it can already write
 * the registry (users, roles, keys), so it grants nothing new.
 */
export const STATUS_AUDIENCE = "kubeport-status";
export const STATUS_SUBJECT = "kubeport-ctl";
const STATUS_TOKEN_TTL_S = 60;
/** The longest life a status token may claim; a longer one is refused even when validly signed. */
export const STATUS_TOKEN_MAX_S = 300;

/** The claims a kubeport token carries besides the registered ones. */
export interface KubeportClaims {
  /** Role names of the user when the token was issued (the gateway uses the current record). */
  roles: string[];
  /** `spec.created` of the user record; a token for an earlier user of the same name is refused. */
  user_created: string;
}

/** The issuer kubeport tokens carry: `https://<public_addr>` of the gateway. */
export function kubeportIssuer(proxy: Pick<ProxyServiceConfig, "public_addr">): string {
  return proxy.public_addr ? `https://${proxy.public_addr}` : DEFAULT_ISSUER;
}

export interface IssueUserTokenOptions {
  user: string;
  ttlMs?: number;
  issuer?: string;
  audience?: string;
  clock?: Clock;
}

/**
 * Signs a token for an existing user: iss, aud, sub = user, roles, user_created, jti, iat/nbf/exp,
 * `kid` header. Creates the first signing key when there is none. Throws not_found for an unknown
 * user and bad_parameter for a TTL outside (0, MAX_TOKEN_TTL_MS].
 */
export async function issueUserToken(
  backend: Backend,
  {
    user,
    ttlMs = DEFAULT_TOKEN_TTL_MS,
    issuer = DEFAULT_ISSUER,
    audience = DEFAULT_AUDIENCE,
    clock = systemClock,
  }: IssueUserTokenOptions,
): Promise<string> {
  if (!(ttlMs > 0 && ttlMs <= MAX_TOKEN_TTL_MS)) {
    throw badParameter(`token TTL must be between 1s and ${MAX_TOKEN_TTL_MS / 3_600_000}h`);
  }
  const record = (await backend.get("user", user)) as User | undefined;
  if (!record) throw notFound(`user ${JSON.stringify(user)} does not exist`);
  const key = await ensureSigningKey(backend, { clock });
  const now = Math.floor(clock.now() / 1000);
  const claims: KubeportClaims = { roles: record.spec.roles, user_created: record.spec.created };
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: SIGNING_ALG, kid: String(key.spec.public_jwk.kid), typ: "JWT" })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject(user)
    .setJti(crypto.randomUUID())
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + Math.ceil(ttlMs / 1000))
    .sign(await privateKeyOf(key));
}

/**
 * Signs a status token (see STATUS_AUDIENCE) with the active signing key; undefined when the
 * registry has none (never creates one: `ctl kube ls` only reads, and a retired key stays retired).
 */
export async function issueStatusToken(
  backend: Backend,
  { issuer = DEFAULT_ISSUER, clock = systemClock }: { issuer?: string; clock?: Clock } = {},
): Promise<string | undefined> {
  const key = activeSigningKey(await listSigningKeys(backend), clock.now());
  if (!key) return undefined;
  const now = Math.floor(clock.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: SIGNING_ALG, kid: String(key.spec.public_jwk.kid), typ: "JWT" })
    .setIssuer(issuer)
    .setAudience(STATUS_AUDIENCE)
    .setSubject(STATUS_SUBJECT)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + STATUS_TOKEN_TTL_S)
    .sign(await privateKeyOf(key));
}
