// The login service: password + TOTP and OIDC sign-in to a login session, what a session may see,
// per-cluster tokens from it, and signing out. The JSON routes (routes.ts) and the console use it.
import type { Config, OidcIssuerConfig } from "../../config/index.ts";
import { type Clock, systemClock } from "../../lib/clock.ts";
import { accessDenied, notFound, unauthenticated } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log.ts";
import { scopesFor } from "../../lib/oauth/index.ts";
import type { Backend, Credential, KubeCluster, LoginSession, User } from "../../registry/index.ts";
import { CLUSTER_TOKEN_TTL_MS, issueClusterToken } from "../auth/cluster-tokens.ts";
import { kubeportIssuer } from "../auth/kubeport-tokens.ts";
import { createOidcVerifier, issuerKey, type OidcVerifier } from "../auth/oidc.ts";
import { sessionIdentity } from "../auth/session-identity.ts";
import { peek } from "../auth/token-checks.ts";
import type { ClusterCache } from "../cluster-cache.ts";
import type { Authorizer, Identity } from "../identity.ts";
import { lockInForce, lockMessage, unlockedClusters } from "../sessions/index.ts";
import { type Attempts, createAttempts, LockedOut } from "./attempts.ts";
import { verifyDecoy, verifyPassword } from "./password.ts";
import {
  endUserSessions,
  findSession,
  type StartedSession,
  sessionExpiry,
  sessionTtl,
  startSession,
} from "./sessions.ts";
import { acceptTotp } from "./totp.ts";

/** The one answer to every wrong user name, password or code: nothing tells them apart. */
export const BAD_CREDENTIALS = "wrong user name, password or code";

/** An ID token older than this is not exchanged for a session (it was meant for a sign-in now). */
export const MAX_ID_TOKEN_AGE_MS = 10 * 60_000;

export interface LoginServiceOptions {
  config: Config;
  backend: Backend;
  cache: ClusterCache;
  authorizer: Authorizer;
  log: Logger;
  clock?: Clock;
  attempts?: Attempts;
}

/** What the gateway tells clients about signing in (GET /v1/auth/config; no secrets). */
export interface AuthSettings {
  /** host:port of the gateway (its public_addr). */
  proxy: string;
  local: boolean;
  issuers: { name: string; issuer_url: string; client_id: string; scopes: string[] }[];
  session_ttl_s: number;
}

export interface SignedIn extends StartedSession {
  identity: Identity;
}

export interface LoginService {
  settings(): AuthSettings;
  /** A configured issuer by its URL (trailing slash forgiven). */
  issuer(url: string): OidcIssuerConfig | undefined;
  /** Password + TOTP. Throws unauthenticated (BAD_CREDENTIALS) or LockedOut. */
  passwordLogin(input: {
    user: string;
    password: string;
    code: string;
    address: string;
    client: "cli" | "web";
    ttlMs?: number;
  }): Promise<SignedIn>;
  /** An ID token from a configured issuer (verified as the gateway verifies bearer tokens), fresh. */
  oidcLogin(input: {
    idToken: string;
    client: "cli" | "web";
    ttlMs?: number;
    nonce?: string;
  }): Promise<SignedIn>;
  /** The live session of a secret and who it is now; undefined when it opens none. */
  session(secret: string | undefined): Promise<{ session: LoginSession; identity: Identity } | undefined>;
  /** The clusters this identity may reach, sorted by name. */
  clusters(identity: Identity): KubeCluster[];
  /** A token for one cluster (403 when the identity may not reach it, 404 when it is not served). */
  clusterToken(
    session: LoginSession,
    identity: Identity,
    cluster: string,
  ): Promise<{ token: string; expiresAt: number }>;
  logout(secret: string | undefined): Promise<boolean>;
}

export const displayName = (o: OidcIssuerConfig): string => {
  if (o.display_name) return o.display_name;
  try {
    return new URL(o.issuer_url).host;
  } catch {
    return o.issuer_url;
  }
};

export function createLoginService({
  config,
  backend,
  cache,
  authorizer,
  log,
  clock = systemClock,
  attempts,
}: LoginServiceOptions): LoginService {
  const proxy = config.proxy_service;
  const login = proxy.login;
  const issuer = kubeportIssuer(proxy);
  const tries =
    attempts ??
    createAttempts({ maxFailures: login.max_failures, lockoutMs: login.lockout, now: () => clock.now() });
  const verifiers = new Map<string, OidcVerifier>();
  // A sign-in's ID token was issued to kubeport's OAuth client: its aud is client_id, which may
  // differ from the audience of the bearer tokens kubectl brings (then the default verifier refuses it).
  const verifierOf = (cfg: OidcIssuerConfig) => {
    let v = verifiers.get(cfg.issuer_url);
    if (!v) {
      v = createOidcVerifier({ ...cfg, audience: cfg.client_id ?? cfg.audience }, clock);
      verifiers.set(cfg.issuer_url, v);
    }
    return v;
  };
  const rolesOf = (names: readonly string[]) => names.map((n) => cache.role(n));
  const lookups = {
    user: async (n: string) => cache.user(n) ?? ((await backend.get("user", n)) as User | undefined),
    oidc: proxy.oidc,
    issuer,
  };
  const signIn = async (
    spec: Parameters<typeof startSession>[1],
    roles: readonly string[],
    ttlMs: number | undefined,
  ): Promise<SignedIn> => {
    const started = await startSession(
      backend,
      spec,
      sessionTtl(login.session_ttl, rolesOf(roles), ttlMs),
      clock,
    );
    return { ...started, identity: await sessionIdentity(started.session, lookups) };
  };

  return {
    settings: () => ({
      proxy: proxy.public_addr,
      local: true,
      issuers: proxy.oidc.map((o) => ({
        name: displayName(o),
        issuer_url: o.issuer_url,
        client_id: o.client_id ?? o.audience,
        scopes: scopesFor(o.username_claim),
      })),
      session_ttl_s: Math.round(login.session_ttl / 1000),
    }),
    issuer: (url) => proxy.oidc.find((o) => issuerKey(o.issuer_url) === issuerKey(url)),

    async passwordLogin({ user, password, code, address, client, ttlMs }) {
      tries.check(user, address);
      const [record, credential] = (await Promise.all([
        backend.get("user", user),
        backend.get("credential", user),
      ])) as [User | undefined, Credential | undefined];
      let step: number | undefined;
      if (record && credential && credential.spec.user_created === record.spec.created) {
        const passwordOk = await verifyPassword(password, credential.spec.password_hash);
        step = passwordOk
          ? acceptTotp(credential.spec.totp_secret, code, credential.spec.totp_last_step ?? -1, clock.now())
          : undefined;
        // The step is taken with a compare-and-swap: two sign-ins with one code, one wins.
        if (step !== undefined) {
          try {
            await backend.compareAndSwap({
              ...credential,
              spec: { ...credential.spec, totp_last_step: step },
            });
          } catch {
            step = undefined;
          }
        }
      } else await verifyDecoy(password);
      if (step === undefined || !record) {
        const locked = tries.fail(user, address);
        log.info({ user, address, locked: locked !== undefined }, "sign-in refused");
        if (locked) throw locked;
        throw unauthenticated(BAD_CREDENTIALS);
      }
      tries.succeed(user);
      return signIn(
        { user, source: "local", user_created: record.spec.created, client },
        record.spec.roles,
        ttlMs,
      );
    },

    async oidcLogin({ idToken, client, ttlMs, nonce }) {
      const peeked = peek(idToken);
      const cfg = typeof peeked.claims.iss === "string" ? this.issuer(peeked.claims.iss) : undefined;
      if (!cfg)
        throw unauthenticated(
          `ID token from an issuer that is not configured (${String(peeked.claims.iss)})`,
        );
      const identity = await verifierOf(cfg).verify(idToken, peeked);
      const iat = typeof peeked.claims.iat === "number" ? peeked.claims.iat * 1000 : 0;
      if (nonce !== undefined && peeked.claims.nonce !== nonce)
        throw unauthenticated("the ID token's nonce is not this sign-in's");
      if (clock.now() - iat > MAX_ID_TOKEN_AGE_MS)
        throw unauthenticated("the ID token was issued more than 10 minutes ago; sign in again");
      return signIn(
        {
          user: identity.user,
          source: "oidc",
          issuer: cfg.issuer_url,
          groups: identity.groups ?? [],
          client,
        },
        identity.roles,
        ttlMs,
      );
    },

    async session(secret) {
      const session = await findSession(backend, secret, clock);
      if (!session) return undefined;
      try {
        return { session, identity: await sessionIdentity(session, lookups) };
      } catch {
        return undefined;
      }
    },

    // A lock closes what it targets here too: the clusters listed and the tokens issued.
    clusters: (identity) =>
      unlockedClusters(
        cache.locks(),
        identity,
        authorizer.visibleClusters(identity, cache.clusters()),
        clock.now(),
      ),

    async clusterToken(session, identity, name) {
      const cluster = cache.cluster(name);
      if (!cluster) throw notFound(`kube_cluster "${name}" is not served by this gateway`);
      try {
        authorizer.authorize(identity, cluster);
      } catch (err) {
        throw accessDenied(`${identity.user} may not reach cluster "${name}"`, err);
      }
      const lock = lockInForce(cache.locks(), { ...identity, cluster: name }, clock.now());
      if (lock) throw accessDenied(lockMessage(lock));
      return issueClusterToken(backend, {
        user: identity.user,
        sessionId: session.metadata.name,
        sessionExpiresAt: sessionExpiry(session),
        cluster: name,
        issuer,
        clock,
      });
    },

    async logout(secret) {
      const session = await findSession(backend, secret, clock);
      return session ? backend.delete("login_session", session.metadata.name) : false;
    },
  };
}

export { CLUSTER_TOKEN_TTL_MS, endUserSessions, LockedOut };
