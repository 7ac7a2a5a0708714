// Login sessions: a random secret the client holds, stored as its digest with who signed in and until when.
import type { OidcIssuerConfig } from "../../config/index.ts";
import { type Clock, systemClock } from "../../lib/clock.ts";
import { parseDuration } from "../../lib/duration.ts";
import type { Backend, LoginSession, LoginSessionSpec, Role } from "../../registry/index.ts";
import { digestOf, randomSecret } from "./secrets.ts";

/** Session secrets start with this, so one pasted into the wrong place is recognisable. */
export const SESSION_PREFIX = "kps_";

/**
 * A session's life: the configured session_ttl, or `requestedMs` when shorter, capped by the
 * shortest `options.max_session_ttl` of the roles the person holds (Teleport's rule).
 */
export function sessionTtl(
  configMs: number,
  roles: readonly (Role | undefined)[],
  requestedMs?: number,
): number {
  let ttl = requestedMs !== undefined && requestedMs > 0 ? Math.min(requestedMs, configMs) : configMs;
  for (const r of roles) {
    const cap = r?.spec?.options?.max_session_ttl;
    const ms = cap ? parseDuration(cap) : undefined;
    if (ms && ms > 0) ttl = Math.min(ttl, ms);
  }
  return ttl;
}

export interface StartedSession {
  /** The secret the client keeps (bearer for the CLI, cookie for the console). */
  secret: string;
  session: LoginSession;
  /** ms since the epoch. */
  expiresAt: number;
}

/** Stores a new session for `spec`, valid for `ttlMs`. */
export async function startSession(
  backend: Backend,
  spec: Omit<LoginSessionSpec, "created">,
  ttlMs: number,
  clock: Clock = systemClock,
): Promise<StartedSession> {
  const secret = randomSecret(SESSION_PREFIX);
  const now = clock.now();
  const expiresAt = now + ttlMs;
  const session: LoginSession = {
    kind: "login_session",
    version: "v1",
    metadata: { name: digestOf(secret), expires: new Date(expiresAt).toISOString() },
    spec: { ...spec, created: new Date(now).toISOString() },
  };
  await backend.create(session);
  return { secret, session, expiresAt };
}

/** The live session a secret opens, or undefined (unknown, signed out or expired). */
export async function findSession(
  backend: Backend,
  secret: string | undefined,
  clock: Clock = systemClock,
): Promise<LoginSession | undefined> {
  if (!secret?.startsWith(SESSION_PREFIX) || secret.length > 100) return undefined;
  const s = (await backend.get("login_session", digestOf(secret))) as LoginSession | undefined;
  return s && sessionExpiry(s) > clock.now() ? s : undefined;
}

/** ms since the epoch; 0 for a record without a readable expiry (treated as over). */
export const sessionExpiry = (s: LoginSession): number => Date.parse(s.metadata.expires ?? "") || 0;

/** Ends every session of `user` (ctl users rm / reset); returns how many. */
export async function endUserSessions(backend: Backend, user: string): Promise<number> {
  let n = 0;
  for (const s of (await backend.list("login_session")) as LoginSession[])
    if (s.spec.user === user && (await backend.delete("login_session", s.metadata.name))) n++;
  return n;
}

/** The issuer config a session of an OIDC person names (undefined when it is no longer configured). */
export const sessionIssuer = (
  s: LoginSession,
  oidc: readonly OidcIssuerConfig[],
): OidcIssuerConfig | undefined => oidc.find((o) => o.issuer_url === s.spec.issuer);
