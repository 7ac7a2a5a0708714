// Re-deciding access for an open stream against the registry as it is now: token expiry, the user
// record, locks, the served cluster, the roles, and the stream's own request under the roles'
// kubernetes_resources. Any error while deciding ends the stream (fail closed).
import type { Clock } from "../../lib/clock.ts";
import { describeError, KubeportError } from "../../lib/errors.ts";
import type { ClusterCache } from "../cluster-cache.ts";
import type { Authorizer, Grant, Identity } from "../identity.ts";
import type { RequestInfo } from "../request-info.ts";
import { streamAccess } from "../resources/index.ts";
import { lockInForce, lockMessage } from "./locks.ts";

/**
 * Why the gateway ends a stream, and the Status it tells the client (401: sign in again; 403:
 * refused; 503: this gateway is going away, reconnect).
 */
export interface Revocation {
  /** 410 (Expired): the stream may go on, but not as it was opened; the client lists again. */
  code: 401 | 403 | 410 | 503;
  /**
   * Metrics label and audit `ended_by`. `rules`: a list or watch whose roles' kubernetes_resources
   * changed what it may see.
   */
  cause: "expired" | "key" | "user" | "session" | "lock" | "access" | "rules" | "error" | "shutdown";
  message: string;
  /**
   * End watches and logs -f with a plain end of stream, no ERROR event: nothing is wrong with the
   * request, and a client (client-go) then watches again, through the load balancer. Exec, attach
   * and port-forward are told the message either way.
   */
  clean?: boolean;
}

/** The gateway is stopping (SIGTERM): streams still open at the end of shutdown_grace. */
export const shutdownRevocation: Revocation = {
  code: 503,
  cause: "shutdown",
  message:
    "kubeport: this gateway is shutting down; run the command again (the load balancer sends it to another gateway)",
  clean: true,
};

/** What a stream is opened as: who, on which cluster, asking for what. */
export interface StreamSubject {
  identity: Identity;
  cluster: string;
  /** The request that opened it; absent: only the cluster is re-checked. */
  request?: StreamRequest;
}

/** A stream's request as it was authorized (the attributes parsed once, request-info.ts). */
export interface StreamRequest {
  info: RequestInfo;
  /**
   * What a list or watch could see when it was opened (resources/ streamAccess `view`, from the
   * grant it was authorized with): a role change that alters it ends the stream.
   */
  view: string;
}

export interface AccessCheckOptions {
  cache: Pick<
    ClusterCache,
    "cluster" | "user" | "removedUser" | "locks" | "endedSession" | "signingKey" | "removedKey"
  >;
  authorizer: Authorizer;
  /**
   * True when kubeport identities are verified against the registry's user records (the gateway's
   * own authenticator): a removed or re-created user then ends its streams, and a user's current
   * roles are the ones re-checked. False for an injected authenticator with users of its own.
   */
  registryUsers: boolean;
  /** End a stream when its token expires (proxy_service.disconnect_expired_credentials). */
  disconnectExpired: boolean;
  clock: Clock;
}

/** The revocation for a token that expired at `at` (ms since the epoch). */
export const expiredRevocation = (at: number): Revocation => ({
  code: 401,
  cause: "expired",
  message: `kubeport: your token expired at ${new Date(at).toISOString()}; get a new one and run the command again`,
});

/** A check for one stream: undefined while it may go on, else why it must end. */
export type AccessCheck = (s: StreamSubject) => Revocation | undefined;

/**
 * What the revoker re-checks of a stream's request when roles change: its attributes and, for a
 * list or watch, what the grant it was authorized with lets it see (its filter was built from it).
 */
export function streamRequest(grant: Grant, info: RequestInfo, user: string): StreamRequest {
  const at = streamAccess(grant.resources, info, user);
  // Refused can only mean a grant that changed under a request already checked: "" is no list's
  // view, and the revoker's first check refuses it anyway.
  return { info, view: "view" in at ? at.view : "" };
}

/** Builds the check; it reads only memory (the cluster cache, the authorizer's compiled roles). */
export function createAccessCheck(opts: AccessCheckOptions): AccessCheck {
  return (s) => {
    try {
      return decide(opts, s);
    } catch (err) {
      return {
        code: 403,
        cause: "error",
        message: `kubeport: access could not be re-checked (${describeError(err)}); the stream is closed`,
      };
    }
  };
}

function decide(
  { cache, authorizer, registryUsers, disconnectExpired, clock }: AccessCheckOptions,
  { identity, cluster: clusterName, request }: StreamSubject,
): Revocation | undefined {
  const now = clock.now();
  if (disconnectExpired && identity.expiresAt !== undefined && identity.expiresAt <= now)
    return expiredRevocation(identity.expiresAt);
  // Opened with a login session's cluster token: signing out (on any gateway) ends it.
  if (identity.sessionId !== undefined && cache.endedSession(identity.sessionId))
    return {
      code: 401,
      cause: "session",
      message: "kubeport: your login session has ended (signed out): run kubeport login",
    };
  if (registryUsers && identity.keyId !== undefined) {
    const gone = retiredKey(cache, identity.keyId, now);
    if (gone) return gone;
  }
  const current = registryUsers ? currentIdentity(cache, identity) : identity;
  if ("code" in current) return current;
  const lock = lockInForce(
    cache.locks(),
    { user: current.user, claimedUser: current.claimedUser, roles: current.roles, cluster: clusterName },
    now,
  );
  if (lock) return { code: 403, cause: "lock", message: `kubeport: ${lockMessage(lock)}` };
  const cluster = cache.cluster(clusterName);
  if (!cluster)
    return {
      code: 403,
      cause: "access",
      message: `kubeport: cluster ${JSON.stringify(clusterName)} is no longer served`,
    };
  let grant: Grant;
  try {
    grant = authorizer.authorize(current, cluster);
  } catch (err) {
    if (!(err instanceof KubeportError)) throw err;
    return { code: 403, cause: "access", message: `kubeport: access removed: ${err.message}` };
  }
  if (!request) return undefined;
  // The roles still reach the cluster; do their kubernetes_resources still allow this request?
  const access = streamAccess(grant.resources, request.info, current.user);
  if ("refused" in access)
    return { code: 403, cause: "access", message: `kubeport: access removed: ${access.refused}` };
  if (access.view !== request.view)
    // Filtering on with the new rules would leave the client holding objects it may no longer see
    // (no DELETED event comes for them) and never sent the ones it now may: a fresh list is the
    // only view that matches the rules. 410 is what makes client-go's reflector list again.
    return {
      code: 410,
      cause: "rules",
      message:
        "kubeport: your roles changed what this watch or list may see; run the command again to see what they allow now",
    };
  return undefined;
}

/**
 * Why a stream opened with a token of signing key `kid` must end: the key expired (retired with
 * `ctl auth rotate --retire-after …`, the answer to a leaked key) or this cache saw it removed. A key
 * the cache has not seen yet (made moments ago on another gateway) is not a reason.
 */
function retiredKey(
  cache: Pick<ClusterCache, "signingKey" | "removedKey">,
  kid: string,
  now: number,
): Revocation | undefined {
  const key = cache.signingKey(kid);
  if (!key)
    return cache.removedKey(kid)
      ? {
          code: 401,
          cause: "key",
          message:
            "kubeport: the signing key of your token was removed; get a new token and run the command again",
        }
      : undefined;
  const until = key.metadata.expires === undefined ? undefined : Date.parse(key.metadata.expires);
  if (until === undefined || until > now) return undefined;
  return {
    code: 401,
    cause: "key",
    message: `kubeport: the signing key of your token was retired at ${new Date(until).toISOString()}; get a new token and run the command again`,
  };
}

/**
 * A kubeport identity with the roles its user record holds now, or why it is over. The cache may lag
 * the authenticator (each follows its own watch): a user it has not seen yet is not "removed", and
 * the record's `spec.created` tells a re-created user from a cache that has not caught up.
 */
function currentIdentity(
  cache: Pick<ClusterCache, "user" | "removedUser">,
  identity: Identity,
): Identity | Revocation {
  if (identity.source !== "kubeport") return identity;
  const name = JSON.stringify(identity.user);
  const mine = identity.userCreated;
  const user = cache.user(identity.user);
  if (!user) {
    const gone = cache.removedUser(identity.user);
    if (gone === undefined || (mine !== undefined && gone !== "" && isOlder(gone, mine))) return identity;
    return { code: 401, cause: "user", message: `kubeport: user ${name} was removed` };
  }
  if (mine !== undefined && user.spec.created !== mine) {
    if (isOlder(user.spec.created, mine)) return identity;
    return { code: 401, cause: "user", message: `kubeport: user ${name} was re-created; get a new token` };
  }
  const roles = user.spec.roles;
  const same = roles.length === identity.roles.length && roles.every((r, i) => r === identity.roles[i]);
  return same ? identity : { ...identity, roles: [...roles] };
}

/** True when RFC 3339 time `a` is before `b` (an unreadable time is not). */
const isOlder = (a: string, b: string) => Date.parse(a) < Date.parse(b);
