// The registry's contract: resource shapes, the Backend every store implements, leases and watches.

export type Kind =
  | "kube_cluster"
  | "token"
  | "instance"
  | "role"
  | "user"
  | "signing_key"
  | "discovery_status"
  | "discovery_config"
  | "lock"
  | "credential"
  | "invite"
  | "login_session";

export const KINDS: readonly Kind[] = [
  "kube_cluster",
  "token",
  "instance",
  "role",
  "user",
  "signing_key",
  "discovery_status",
  "discovery_config",
  "lock",
  "credential",
  "invite",
  "login_session",
];

export interface Metadata {
  name: string;
  description?: string;
  labels?: Record<string, string>;
  /** RFC 3339; the backend treats an expired resource as absent. */
  expires?: string;
  /** Set by the backend on every write; opaque to callers, compared for CAS. */
  revision?: string;
}

export interface Resource<K extends Kind = Kind, S = unknown> {
  kind: K;
  version: "v1";
  metadata: Metadata;
  spec: S;
}

export interface KubeClusterSpec {
  /**
   * created_at: RFC 3339, when EKS created the cluster (shown as AGE). assume_role_arn and
   * external_id: how discovery reached it; the gateway signs the cluster's EKS token as that role.
   */
  aws?: {
    region: string;
    account_id: string;
    name: string;
    arn?: string;
    created_at?: string;
    assume_role_arn?: string;
    external_id?: string;
  };
  /** https URL of the Kubernetes API server. */
  endpoint: string;
  /** PEM (or base64 of PEM, as EKS returns it) CA bundle that the gateway pins. */
  ca_data?: string;
  /** Kubernetes version reported by the cloud, informational. */
  kubernetes_version?: string;
  /** How the gateway authenticates upstream; "eks" = presigned STS token. */
  auth?: "eks" | "none";
}
export type KubeCluster = Resource<"kube_cluster", KubeClusterSpec>;

export type TokenRole = "discovery" | "kube" | "proxy";
export interface TokenSpec {
  roles: TokenRole[];
  /** sha256 hex of the secret; the secret itself is never stored. */
  hash: string;
}
/** Stored under metadata.name = the token's public id (the first 8 hex chars of its hash). */
export type Token = Resource<"token", TokenSpec>;

export interface InstanceSpec {
  hostname: string;
  version: string;
  services: string[];
  discovery_group?: string;
  started: string;
  last_seen: string;
  /** Address of this instance's gateway, when it runs one. */
  public_addr?: string;
}
export type Instance = Resource<"instance", InstanceSpec>;

/**
 * The lease a write is made under: the write is applied only while this exact lease (token,
 * holder and session) is the lock's current, unexpired one, in the same atomic step.
 */
export type Fence = Pick<Lease, "lock" | "token" | "holder" | "session">;

export interface WriteOptions {
  /** Refuse the write (error kind "fenced") unless `fence` is the lock's current lease. */
  fence?: Fence;
}

export type WatchEvent =
  /** A full snapshot: emitted first, and again after any gap or reconnect. Replace your cache. */
  | { type: "init"; resources: Resource[] }
  | { type: "put"; resource: Resource }
  /** `revision`: the global revision of the deletion (a resource at a higher one was written after it). */
  | { type: "delete"; kind: Kind; name: string; revision: string };

export interface WatchOptions {
  kinds: readonly Kind[];
}

export interface Watcher {
  close(): void;
}

export interface Lease {
  lock: string;
  /** Who holds it (the instance id), for people and status. */
  holder: string;
  /**
   * Random per elector (per process): a lease of this holder and session still in the store is
   * one this elector may take back at once, and two processes sharing one instance id never
   * mistake each other's lease for their own.
   */
  session: string;
  /** Increases on every confirmed acquisition of this lock, across holders and failovers. */
  token: number;
  /**
   * performance.now() after which the holder must stop acting, whatever the store says later:
   * the moment the request that took or renewed the lease was sent, plus the TTL, minus a
   * margin (leaseDeadline). The store's own expiry is later.
   */
  deadline: number;
}

/**
 * How a stream keeps its entries (the audit stream: audit.retention, audit.max_events). Over
 * `maxEntries`, sheddable entries go first: those of the owner holding the most, oldest first (a
 * flood of one identity's refusals loses its own entries, nobody else's); only when none is left do
 * the oldest entries go.
 */
export interface StreamRetention {
  /** Entries written longer ago than this are deleted; 0: no age limit. */
  maxAgeMs: number;
  maxEntries: number;
}

export interface AppendOptions {
  /** Per entry, who may lose it when the stream is over its cap; undefined: kept until it ages out. */
  owners?: readonly (string | undefined)[];
  retention?: StreamRetention;
  /** The entries are JSON texts already (the audit sink encodes each event once, for its log line too). */
  encoded?: boolean;
}

export interface Backend {
  /** Backend name for logs and status ("sqlite", "redis"). */
  readonly name: string;
  get(kind: Kind, name: string): Promise<Resource | undefined>;
  list(kind: Kind, opts?: { prefix?: string }): Promise<Resource[]>;
  /** Creates or replaces. Returns the stored resource with its new revision. */
  put(resource: Resource, opts?: WriteOptions): Promise<Resource>;
  /** Creates only; error kind "already_exists" when present. */
  create(resource: Resource, opts?: WriteOptions): Promise<Resource>;
  /** Replaces only if the stored revision equals `resource.metadata.revision`; else "compare_failed". */
  compareAndSwap(resource: Resource, opts?: WriteOptions): Promise<Resource>;
  /** Deletes; returns false when it did not exist. */
  delete(kind: Kind, name: string, opts?: WriteOptions): Promise<boolean>;
  /** Streams changes; see WatchEvent. `onError` gets transient problems (the watcher keeps trying). */
  watch(opts: WatchOptions, onEvent: (e: WatchEvent) => void, onError?: (err: unknown) => void): Watcher;
  /**
   * Takes the lock if free or expired, or if its lease is this holder's and `session`'s own (one
   * whose acquisition or renewal was not confirmed, or whose reply was lost); always with a new,
   * bigger token. Undefined when held by another. Rejects (kind "uncertain" or "unavailable") when
   * the acquisition cannot be confirmed durable (Redis: no replica acknowledged it, or the primary
   * changed role): such a lease is never handed out. A random session is made when none is given.
   */
  acquireLock(lock: string, holder: string, ttlMs: number, session?: string): Promise<Lease | undefined>;
  /**
   * Extends a held lease (a new deadline); undefined when it is no longer the lock's current lease.
   * Rejects like acquireLock when the renewal cannot be confirmed: the caller must stop acting.
   */
  renewLock(lease: Lease, ttlMs: number): Promise<Lease | undefined>;
  /** Frees the lock if its lease is this holder's and session's (whatever the token). */
  releaseLock(lease: Pick<Lease, "lock" | "holder" | "session">): Promise<void>;
  /** Appends to a capped stream (audit); entries are JSON values. */
  append(stream: string, entry: unknown): Promise<void>;
  /**
   * Appends several entries in order, all or none (one transaction / Lua script): the audit sink's
   * batch. Then applies `opts.retention` (default: the store's streamCap, no age limit).
   */
  appendMany(stream: string, entries: readonly unknown[], opts?: AppendOptions): Promise<void>;
  /** Reads entries after `after` (exclusive id), oldest first. */
  readStream(
    stream: string,
    opts?: { after?: string; limit?: number },
  ): Promise<{ id: string; entry: unknown }[]>;
  /** Resolves when the backend answers; rejects with kind "unavailable" otherwise. */
  ping(): Promise<void>;
  /**
   * Why the store refuses writes now, as this process last saw it (SQLite: a full or read-only
   * disk), or undefined. Readiness reports it; the next successful write clears it.
   */
  writeProblem?(): string | undefined;
  /**
   * Settings of the store's deployment that an HA pair needs and does not have (Redis:
   * min-replicas-to-write, appendonly), one sentence each naming the setting; `start` logs them.
   */
  checkSettings?(): Promise<string[]>;
  close(): Promise<void>;
}

export interface RoleConditions {
  /** Which clusters, by label (Teleport selector semantics: "*", globs, ^…$ regex). */
  kubernetes_labels?: Record<string, string | string[]>;
  kubernetes_groups?: string[];
  kubernetes_users?: string[];
  /** allow: may read the audit log and everyone's session recordings; deny: may not, whatever allows it. */
  review_recordings?: boolean;
  /**
   * Which Kubernetes objects, Teleport role v8 style. Absent (or empty) in allow: every object, as
   * before this field existed. Deny rules are checked first, across every role reaching the cluster.
   */
  kubernetes_resources?: KubeResourceRule[];
}

/** One `kubernetes_resources` entry; api_group, namespace and name are literals, globs or `^…$` RE2. */
export interface KubeResourceRule {
  /** Plural resource (`pods`, `crontabs`) or `*`. */
  kind: string;
  /** Defaults to the kind's group for built-in kinds, `*` for kind `*`. */
  api_group?: string;
  /** Absent or "": cluster-scoped objects only. */
  namespace?: string;
  name: string;
  verbs: string[];
}
export interface RoleOptions {
  /** The longest login session (`kubeport login`, the web console) a holder gets, e.g. "8h"; the shortest of a user's roles wins. */
  max_session_ttl?: string;
  /**
   * How this role's holders' exec/attach sessions are recorded (Teleport's option): `default` is
   * off, best_effort or strict; a role without it counts as the config's audit.record_session, and
   * the strictest of the roles that reach a cluster wins there (gateway/recording-mode.ts).
   */
  record_session?: { default?: "off" | "best_effort" | "strict" };
}
export interface RoleSpec {
  allow: RoleConditions;
  deny?: RoleConditions;
  options?: RoleOptions;
}
export type Role = Resource<"role", RoleSpec>;

export interface UserSpec {
  roles: string[];
  created: string;
}
export type User = Resource<"user", UserSpec>;

export interface SigningKeySpec {
  alg: "ES256" | "EdDSA";
  /** JWK of the public key (with kid). */
  public_jwk: Record<string, unknown>;
  /** JWK of the private key. Stored in the registry so every gateway of an HA pair signs alike. */
  private_jwk: Record<string, unknown>;
  created: string;
  /** Newest active key signs; retired keys only verify until `metadata.expires`. */
  state: "active" | "retired";
}
export type SigningKey = Resource<"signing_key", SigningKeySpec>;

export interface DiscoveryStatusSpec {
  discovery_group: string;
  holder: string;
  fence_token: number;
  /** One row per (matcher, account, region). */
  scopes: {
    matcher: number;
    account?: string;
    region: string;
    last_poll: string;
    clusters: number;
    error?: string;
    /** ok, failed (last fetch failed; clusters kept), pending (first fetch not ended). */
    state?: "ok" | "failed" | "pending";
    last_success?: string;
    duration_ms?: number;
    /** Consecutive failed fetches. */
    failures?: number;
    /** Throttled answers, all time. */
    throttled?: number;
  }[];
  counts: { created: number; updated: number; deleted: number; unchanged: number };
  last_poll: string;
  duration_ms: number;
}
/** Stored under metadata.name = the discovery group ("" → "default"). */
export type DiscoveryStatus = Resource<"discovery_status", DiscoveryStatusSpec>;

export interface DiscoveryConfigSpec {
  /** The discovery group whose leader adds these matchers to its config file's ("" = no group). */
  discovery_group: string;
  /** EKS matchers, exactly as under discovery_service.aws in the config file. */
  aws: unknown[];
}
/** Matchers a discovery group picks up live (`ctl create -f`), like Teleport's discovery_config. */
export type DiscoveryConfig = Resource<"discovery_config", DiscoveryConfigSpec>;

/** Who a lock applies to: every field given must match (Teleport's lock target semantics). */
export interface LockTarget {
  /** A kubeport user name, or an OIDC username as the gateway sees it. */
  user?: string;
  /** A kubeport role name: anyone holding it. */
  role?: string;
  /** A kube_cluster name: everyone, on that cluster. */
  cluster?: string;
}
export interface LockSpec {
  target: LockTarget;
  /** Shown to the people it refuses (in the 403 and on the stream it ends). */
  message?: string;
  /** RFC 3339, when the lock was made. */
  created?: string;
}
/**
 * Refuses new requests and ends open streams of whoever its target matches while it exists;
 * `metadata.expires` (ctl lock --ttl) lifts it. Stored under a random name (ctl rm lock/NAME).
 */
export type Lock = Resource<"lock", LockSpec>;

/**
 * A local user's secrets for `kubeport login` and the web console, stored apart from the user record
 * (so `ctl get user` never carries them). Stored under metadata.name = the user name.
 */
export interface CredentialSpec {
  /** Bun.password (argon2id) PHC string. */
  password_hash: string;
  /** RFC 6238 shared secret, base32. */
  totp_secret: string;
  /** The last TOTP time step accepted: a code is good once (RFC 6238 §5.2). */
  totp_last_step?: number;
  /** `spec.created` of the user record it was set for: a re-created user sets their own. */
  user_created: string;
  updated: string;
}
export type Credential = Resource<"credential", CredentialSpec>;

/**
 * A one-time link to set a password and TOTP (`ctl users add` / `ctl users reset`). Stored under
 * metadata.name = sha256 hex of the link's secret (the secret itself is never stored); used once
 * (deleted when used), `spec.expires` ends it.
 */
export interface InviteSpec {
  user: string;
  /** `spec.created` of the user record it was issued for. */
  user_created: string;
  created: string;
  /**
   * RFC 3339: when the link stops working. The record itself stays a week longer (metadata.expires)
   * so the page can say "expired" rather than "unknown".
   */
  expires: string;
  /** "invite" (a new user) or "reset" (ctl users reset): only the page's wording differs. */
  reason: "invite" | "reset";
}
export type Invite = Resource<"invite", InviteSpec>;

/**
 * A signed-in person (`kubeport login`, the web console). Stored under metadata.name = sha256 hex of
 * the session secret the client holds; `metadata.expires` is its end. Deleting it signs them out on
 * every gateway.
 */
export interface LoginSessionSpec {
  /** A kubeport user name, or the OIDC username with the issuer's prefix (as the gateway names them). */
  user: string;
  source: "local" | "oidc";
  /** OIDC: the configured issuer_url. */
  issuer?: string;
  /** OIDC: the groups claim's raw values at login (roles come from groups_to_roles now). */
  groups?: string[];
  /** Local users: `spec.created` of the user record (a re-created user is someone else). */
  user_created?: string;
  /** "cli" (kubeport login) or "web" (the console). */
  client: "cli" | "web";
  created: string;
}
export type LoginSession = Resource<"login_session", LoginSessionSpec>;
