// The validated, defaulted configuration every component receives (schema.ts produces it).
import type { LabelSelector } from "../lib/labels.ts";
import type { LogFormat, LogLevel } from "../lib/log.ts";

export interface StorageConfig {
  /** "sqlite" (default, embedded in data_dir) or "redis". */
  type: "sqlite" | "redis";
  /** sqlite: file path; default `<data_dir>/registry.db`. */
  path: string;
  /** redis standalone: redis://[user:pass@]host:port[/db] or rediss://… */
  url?: string;
  /** redis Sentinel: "host:port" list plus the master group name. */
  sentinels?: string[];
  name?: string;
  /** redis Cluster: seed nodes "host:port". */
  cluster_nodes?: string[];
  username?: string;
  password?: string;
  /** The password read from this file at start (a mounted Kubernetes Secret), instead of `password`. */
  password_file?: string;
  /** Sentinel's own AUTH, when the sentinels have a password of their own (requirepass in sentinel.conf). */
  sentinel_username?: string;
  sentinel_password?: string;
  sentinel_password_file?: string;
  /** TLS on every Redis connection (nodes and sentinels); a rediss:// url turns it on too. */
  tls?: RedisTlsConfig;
  /** All keys live under the hash tag `{<key_prefix>}` so multi-key scripts work on Cluster. */
  key_prefix: string;
  /**
   * Sentinel and Cluster: how many replicas must acknowledge (WAIT) a durable write or a leader
   * lease before it counts; default 1. 0 for a deployment without replicas: nothing is confirmed.
   */
  replica_acks?: number;
}

export interface RedisTlsConfig {
  /** PEM bundle the servers' certificates must chain to; default: the system's CAs. */
  ca_file?: string;
  /** The name the certificates must carry (and SNI); default: the host connected to. */
  server_name?: string;
  /** A client certificate and key, for servers with tls-auth-clients yes. */
  cert_file?: string;
  key_file?: string;
}

export interface JoinParams {
  method: "token";
  /** A token, or a path to a file holding one. */
  token_name: string;
}

export interface OidcIssuerConfig {
  issuer_url: string;
  audience: string;
  /** Default: discovered from `<issuer_url>/.well-known/openid-configuration`. */
  jwks_url?: string;
  username_claim: string;
  groups_claim: string;
  /**
   * Prepended to the username claim's value to make the Kubernetes user; "-" for none. Unset:
   * `<issuer_url>#` (see gateway/auth/oidc-names.ts).
   */
  username_prefix?: string;
  /** Prepended to every group the token carries upstream; "-" for none. Unset: `<issuer_url>#`. */
  groups_prefix?: string;
  /** OIDC group (the claim's raw value, before groups_prefix) → kubeport role names. */
  groups_to_roles: Record<string, string[]>;
  /**
   * The OAuth client that `kubeport login` and the web console sign in as (Authorization Code +
   * PKCE, Device Authorization Grant). Default: `audience` (the client id is the ID token's aud).
   */
  client_id?: string;
  /** For issuers that want a confidential client on the console's code exchange; public (PKCE only) when unset. */
  client_secret?: string;
  /** Shown as "Sign in with <display_name>"; default the issuer's host. */
  display_name?: string;
}

/** proxy_service.login: local users' and everyone's login sessions. */
export interface LoginConfig {
  /** A login session's life unless roles' max_session_ttl is shorter (ms). Default 12h. */
  session_ttl: number;
  /** How long an invite or reset link works (ms). Default 24h. */
  invite_ttl: number;
  /** Failed sign-ins (per user name, per client address) before a lockout. Default 5. */
  max_failures: number;
  /** How long a lockout lasts (ms). Default 15m. */
  lockout: number;
  /** Serve the web console at /web. Default yes. */
  console: boolean;
}

/** `average` requests per `period` ms, up to `burst` at once (a token bucket). */
export interface RateLimit {
  average: number;
  burst: number;
  /** Milliseconds. */
  period: number;
}

/** proxy_service.limits: what one client may cost the gateway (defaults in schema.ts DEFAULT_LIMITS). */
export interface LimitsConfig {
  /** Largest WebSocket message either side may send; larger ones close the session with 1009. */
  ws_max_message_bytes: number;
  /** Bytes one session may hold waiting for the slower side before the faster one is no longer read. */
  ws_max_buffered_bytes_per_session: number;
  /** The same over every session of the process. */
  ws_max_buffered_bytes_total: number;
  /** Requests per client address that are answered without an authenticated user. */
  unauthenticated_rate: RateLimit;
  /** Requests per authenticated user. */
  user_rate: RateLimit;
  /** Open streams (exec/attach/port-forward, watch, logs -f) per user on this gateway; 0 = no limit. */
  max_kubernetes_connections: number;
  /** Bytes held by filtered lists (kubernetes_resources) over the gateway process; past it new ones get 429. */
  filtered_list_bytes_total: number;
  /** Kept-alive connections one client address may hold (trusted proxies exempt); 0 = no limit. */
  max_connections_per_address: number;
}

export interface ProxyServiceConfig {
  enabled: boolean;
  /** host:port the gateway listens on. Default 0.0.0.0:3080. */
  listen_addr: string;
  /** host:port people use to reach it (kubeconfigs); default = listen_addr with localhost for 0.0.0.0. */
  public_addr: string;
  /** Certificate files; when empty kubeport makes its own CA and server cert in data_dir. */
  https_keypairs: { cert_file: string; key_file: string }[];
  oidc: OidcIssuerConfig[];
  /**
   * End an open exec, attach, port-forward, watch or logs -f when the token it was opened with
   * expires (Teleport's disconnect_expired_cert). Default true.
   */
  disconnect_expired_credentials: boolean;
  /**
   * ms: the longest life (exp - iat) a kubeport user token may claim; longer ones are refused even
   * when validly signed. Default 30 h (ctl auth sign's longest), at least 1 min.
   */
  max_token_ttl: number;
  /**
   * After SIGTERM, ms the listener keeps accepting while /healthz and /readyz answer 503
   * "draining", so a load balancer that stops sending only on a failed health check has. Default 0.
   */
  shutdown_delay: number;
  /**
   * Then ms open watches, logs -f and exec/attach/port-forward sessions may go on; at its end
   * watches end cleanly and sessions are told why on their error channel. Default 30 s.
   */
  shutdown_grace: number;
  limits: LimitsConfig;
  /**
   * Addresses/CIDRs of proxies in front of the gateway: from them the client address is the last
   * X-Forwarded-For entry they did not add themselves (audit `addr.remote`). Default none.
   */
  trusted_proxies: string[];
  login: LoginConfig;
}

export interface AuditConfig {
  /** ms; events older than this leave the audit stream. Default 30 days. */
  retention: number;
  /** The audit stream's cap; over it, refusals of the identity holding the most go first. */
  max_events: number;
  /** file://DIR or s3://BUCKET/PREFIX?region=…&endpoint=…; default file://<data_dir>/recordings. */
  sessions_uri: string;
  /** off, best_effort (default: the session goes on when recording fails) or strict (it does not). */
  record_session: "off" | "best_effort" | "strict";
  /** Bytes recorded per session at most; past it the recording stops and an event says so. */
  recording_max_bytes: number;
}

export interface AwsMatcherConfig {
  types: "eks"[];
  /** Region names, or ["*"] for every region EKS runs in. */
  regions: string[];
  tags: LabelSelector;
  assume_role_arn?: string;
  external_id?: string;
  /** IAM principal the access bootstrap grants; default = the caller identity. */
  setup_access_for_arn?: string;
  /** Kubernetes groups put on that access entry. Default ["kubeport"]. */
  kubernetes_groups: string[];
  /** Access policy associated with the entry (cluster scope); "" = none. */
  access_policy_arn: string;
  /** Turn the access bootstrap off entirely. Default true. */
  setup_access: boolean;
  /**
   * access_policy (default for old configs): an access entry with `access_policy_arn` associated.
   * least_privilege (what `kubeport configure` writes): the entry maps only to `kubernetes_groups`,
   * bound in the cluster to a ClusterRole that may only impersonate (set up through a short-lived
   * admin association, removed afterwards).
   */
  access_mode: "access_policy" | "least_privilege";
  /** Manage an existing access entry kubeport did not create (tag it as kubeport's). Default false. */
  adopt: boolean;
  /** Keep kubeport's access entries on clusters that left the matcher. Default false (removed). */
  keep_access_entries: boolean;
  /** Every (included) account of the AWS Organization, each reached by assuming `role_name`. */
  organization?: OrganizationConfig;
}

export interface OrganizationConfig {
  /** Role assumed in each account: arn:aws:iam::<account>:role/<role_name>. */
  role_name: string;
  external_id?: string;
  /** Only these accounts (empty = all). */
  include_accounts: string[];
  exclude_accounts: string[];
}

export interface DiscoveryServiceConfig {
  enabled: boolean;
  discovery_group: string;
  /** Milliseconds. Default 5 minutes. */
  poll_interval: number;
  /** Per AWS call attempt, ms. Default 10 s. */
  call_timeout: number;
  /** TCP connect, ms. Default 3 s. */
  connect_timeout: number;
  /** One (account, region) fetch, ms; past it the scope is marked failed. Default 2 min. */
  scope_timeout: number;
  aws: AwsMatcherConfig[];
}

export interface KubernetesServiceConfig {
  enabled: boolean;
  resources: { labels: LabelSelector }[];
}

export interface Config {
  version: "v1";
  kubeport: {
    data_dir: string;
    nodename: string;
    storage: StorageConfig;
    log: { severity: LogLevel; format?: LogFormat };
    join_params?: JoinParams;
    /** Leader lock TTL in ms (discovery). Default 15 s. */
    lock_ttl: number;
    /** host:port of the diagnostics listener (/metrics, /healthz, /readyz over HTTP); none by default. */
    diag_addr?: string;
  };
  proxy_service: ProxyServiceConfig;
  discovery_service: DiscoveryServiceConfig;
  kubernetes_service: KubernetesServiceConfig;
  audit: AuditConfig;
}
