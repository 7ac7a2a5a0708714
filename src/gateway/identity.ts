// Who a request is, what it may do upstream, and the audit events it produces: the gateway's auth seams.
import type { AuditEvent } from "../audit/index.ts";
import type { KubeCluster } from "../registry/index.ts";
import type { RecordMode } from "./recording-mode.ts";
import type { ResourceAccess } from "./resources/index.ts";

/** The authenticated caller of one request. */
export interface Identity {
  /**
   * kubeport user name, or the OIDC username claim with the issuer's username_prefix
   * (`https://idp.example.com#alice` by default): never the same as a kubeport user's name.
   */
  user: string;
  /** kubeport role names: from the user record, or mapped from OIDC groups. */
  roles: string[];
  /** OIDC groups as the issuer sent them (what groups_to_roles maps; informational otherwise). */
  groups?: string[];
  /**
   * Kubernetes groups the token itself carries upstream: the OIDC groups with the issuer's
   * groups_prefix (never a `system:` name). Impersonated along with the roles' kubernetes_groups.
   */
  kubernetesGroups?: string[];
  /**
   * OIDC: the username claim as the issuer sent it, before username_prefix. A lock's `user` matches
   * it as well as `user` (`ctl lock --user alice@example.com` locks that person from every issuer).
   */
  claimedUser?: string;
  source: "kubeport" | "oidc";
  /** The token's `iss`. */
  issuer: string;
  /** Token expiry, ms since the epoch. */
  expiresAt?: number;
  /**
   * kubeport tokens: the `kid` of the signing key that signed it. A stream it opened ends once that
   * key is retired and expired, or removed (`ctl auth rotate --retire-after 0s` after a key leaked).
   */
  keyId?: string;
  /** The token's `jti`, when it has one. */
  tokenId?: string;
  /** kubeport users: `spec.created` of the user record the token was issued to (a re-created user is someone else). */
  userCreated?: string;
  /** The login session the token was issued from (`kubeport login`, the console), by registry name. */
  sessionId?: string;
  /** A per-cluster token's one cluster: every other cluster refuses it. */
  clusterScope?: string;
}

/** What the gateway impersonates upstream for one (identity, cluster). */
export interface Grant {
  /** Allowed kubernetes users; the first is the one impersonated (see authorize.ts). */
  kubernetesUsers: string[];
  /** Groups impersonated, always including `system:authenticated`. */
  kubernetesGroups: string[];
  /** The roles that granted access to this cluster. */
  roles: string[];
  /** Their kubernetes_resources rules (resources/): what this grant reaches inside the cluster. */
  resources: ResourceAccess;
  /**
   * Each of `roles`' options.record_session.default, in the same order (undefined: the role sets
   * none); the session stage turns them into the session's mode (recording-mode.ts). Absent: none set.
   */
  recordSession?: (RecordMode | undefined)[];
  /**
   * Set when the roles impersonate different users or groups and some of them reach only some
   * objects: then a request impersonates only what the roles whose kubernetes_resources allow it
   * grant (Teleport's rule; authorize.ts principalsOf). Undefined: every request impersonates
   * kubernetesUsers and kubernetesGroups.
   */
  narrowing?: Narrowing;
}

/** One role's share of a grant: the users and groups it lets impersonate (deny lists applied). */
export interface RoleShare {
  role: string;
  users: string[];
  groups: string[];
}

export interface Narrowing {
  shares: RoleShare[];
  /** The token's own groups (OIDC), deny lists applied: every request carries them. */
  tokenGroups: string[];
}

export interface Authenticator {
  /** Verifies `Authorization: Bearer …`; throws KubeportError kind "unauthenticated" with the reason. */
  authenticate(authorizationHeader: string | undefined): Promise<Identity>;
  /** The identity for a header verified moments ago, without waiting; undefined means call authenticate. */
  verified?(authorizationHeader: string | undefined): Identity | undefined;
  /**
   * True for a valid `ctl` status token (sees every served cluster's health, reaches none); false
   * for any other token; throws unauthenticated for a status token that fails verification.
   */
  isStatusReader?(authorizationHeader: string | undefined): Promise<boolean>;
}

export interface Authorizer {
  /** The grant for this cluster; throws KubeportError kind "access_denied" when none. */
  authorize(identity: Identity, cluster: KubeCluster): Grant;
  /** The clusters this identity may reach, in input order. */
  visibleClusters(identity: Identity, clusters: readonly KubeCluster[]): KubeCluster[];
  /**
   * True when a role of the identity allows review_recordings and none denies it (nor is broken):
   * then it sees everyone's session recordings, else only its own. Absent: own only.
   */
  mayReviewRecordings?(identity: Identity): boolean;
}

export interface AuditSink {
  /** Records one event (src/audit/events.ts); never throws, never blocks the request. */
  emit(ev: AuditEvent): void;
  /**
   * Records a request the gateway refused (401, 403, 429, 404 …). Refusals of one `key` (identity,
   * cluster, reason) within a second become one event with a `count`; `owner` (the user, or the
   * client address when nobody authenticated) is who loses them first when the stream is over its cap.
   */
  refuse(key: string, owner: string, ev: AuditEvent): void;
  /**
   * Records the event `make` returns, made with the next batch instead of on the request path (the
   * event object, its JSON and its log line: a proxied GET's biggest share of audit work). `make`
   * must read only what no longer changes (the caller captures the time and anything live).
   */
  later?(make: () => AuditEvent): void;
}
