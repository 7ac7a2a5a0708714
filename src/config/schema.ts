// The config file's schema (valibot): shapes, Teleport-style booleans and durations, defaults.
import * as v from "valibot";
import { formatBytes, parseByteSize } from "../lib/bytes.ts";
import { parseDuration } from "../lib/duration.ts";
import { selectorSchema } from "../lib/labels.ts";
import { strictMap } from "../lib/strict-map.ts";
import { hasControlCharacter } from "../lib/text.ts";
import { auditSection, trustedProxies } from "./audit-schema.ts";

export const DEFAULT_ACCESS_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
export const DEFAULT_LISTEN_ADDR = "0.0.0.0:3080";
export const DEFAULT_POLL_INTERVAL_MS = 5 * 60_000;
export const DEFAULT_LOCK_TTL_MS = 15_000;
/** What the access bootstrap grants: an access policy association, or impersonation only (Teleport's way). */
export const ACCESS_MODES = ["access_policy", "least_privilege"] as const;

const MiB = 1024 * 1024;
/**
 * proxy_service.limits defaults: far above what kubectl does (client-go writes WebSocket messages of
 * at most 32 KiB + 1, discovery bursts of a few dozen requests), low enough that one client cannot
 * take the gateway's memory or CPU. README "Security" explains each.
 */
export const DEFAULT_LIMITS = {
  ws_max_message_bytes: 16 * MiB,
  ws_max_buffered_bytes_per_session: 4 * MiB,
  ws_max_buffered_bytes_total: 256 * MiB,
  unauthenticated_rate: { average: 10, burst: 100, period: "1s" },
  user_rate: { average: 100, burst: 1000, period: "1s" },
  max_kubernetes_connections: 100,
  filtered_list_bytes_total: 128 * MiB,
  max_connections_per_address: 512,
} as const;

const TRUE_WORDS = new Set(["yes", "on", "true", "y"]);
const FALSE_WORDS = new Set(["no", "off", "false", "n"]);

const isBoolWord = (x: unknown) =>
  typeof x === "boolean" ||
  (typeof x === "string" && (TRUE_WORDS.has(x.toLowerCase()) || FALSE_WORDS.has(x.toLowerCase())));

/** Teleport booleans: true/false, yes/no, on/off, quoted or not. */
export const bool = v.pipe(
  v.custom<boolean | string>(
    isBoolWord,
    (i) => `${i.received} is not a boolean (use yes, no, on, off, true or false)`,
  ),
  v.transform((x): boolean => (typeof x === "boolean" ? x : TRUE_WORDS.has(x.toLowerCase()))),
);

/** A Go-style duration ("30s", "5m", "1h30m") → milliseconds, greater than zero. */
export const duration = v.pipe(
  v.custom<string>(
    (x) => typeof x === "string" && (parseDuration(x) ?? 0) > 0,
    (i) => `${i.received} is not a duration (write it like "30s", "5m" or "1h30m")`,
  ),
  v.transform((x): number => parseDuration(x)!),
);

/** A duration that may be zero ("0", "0s": off), at most `maxMs`. */
const durationOrZero = (maxMs: number) =>
  v.pipe(
    v.custom<string>(
      (x) => typeof x === "string" && parseDuration(x) !== undefined,
      (i) => `${i.received} is not a duration (write it like "30s", "5m" or "0s")`,
    ),
    v.transform((x): number => parseDuration(x)!),
    v.maxValue(maxMs, `must be at most ${maxMs / 1000}s`),
  );

const str = (what = "a string") => v.string((i) => `must be ${what}, got ${i.received}`);
const nonEmpty = (what = "a string") => v.pipe(str(what), v.nonEmpty("must not be empty"));
const strList = (what = "a list of strings") =>
  v.array(str("a string"), (i) => `must be ${what}, got ${i.received}`);

const oneOf = <const T extends readonly [string, ...string[]]>(options: T) =>
  v.picklist(options, (i) => `${i.received} is not one of: ${options.join(", ")}`);

/** A size in bytes (a number, or "16MiB", "512KiB", "1GB") between `min` and `max`. */
const byteSize = (min: number, max: number) =>
  v.pipe(
    v.custom<number | string>(
      (x) => parseByteSize(x) !== undefined,
      (i) => `${i.received} is not a size (a number of bytes, or like "16MiB", "512KiB")`,
    ),
    v.transform((x): number => parseByteSize(x)!),
    v.check(
      (n) => n >= min && n <= max,
      (i) => `${formatBytes(i.input)} is outside ${formatBytes(min)} … ${formatBytes(max)}`,
    ),
  );

const positive = (what: string) =>
  v.pipe(
    v.number((i) => `must be ${what}, got ${i.received}`),
    v.check(
      (n) => Number.isFinite(n) && n > 0,
      (i) => `must be ${what}, got ${i.received}`,
    ),
  );
const count = (what: string, min: number) =>
  v.pipe(
    v.number((i) => `must be ${what}, got ${i.received}`),
    v.check(
      (n) => Number.isSafeInteger(n) && n >= min,
      (i) => `must be ${what}, got ${i.received}`,
    ),
  );

/** host:port with a numeric port. */
const hostPort = v.pipe(
  str("host:port"),
  v.check(
    (s) => {
      const m = /^(\[[^\]]+\]|[^:\s]*):(\d{1,5})$/.exec(s);
      return m !== null && Number(m[2]) <= 65535;
    },
    (i) => `${i.received} is not host:port`,
  ),
);

/** `host` or `host:port` (Teleport accepts a bare host for public_addr); load.ts fills a missing port. */
const hostWithOptionalPort = v.pipe(
  str("host or host:port"),
  v.check(
    (s) => {
      const m = /^(\[[^\]]+\]|[^:\s[\]/]+)(?::(\d{1,5}))?$/.exec(s);
      return m !== null && (m[2] === undefined || Number(m[2]) <= 65535);
    },
    (i) => `${i.received} is not host or host:port`,
  ),
);

/** Selector (tags/labels): key → value or list; `^…$` values are RE2 patterns (lib/labels.ts checks them). */
export const selector = selectorSchema;

const obj = strictMap;

/** TLS to Redis: `tls: yes` (system CAs) or the map below; `tls: no` is the same as leaving it out. */
const redisTls = v.pipe(
  v.unknown(),
  v.transform((x) => (isBoolWord(x) ? (v.parse(bool, x) ? {} : undefined) : x)),
  v.optional(
    obj({
      ca_file: v.optional(nonEmpty("a file path")),
      server_name: v.optional(nonEmpty("a host name")),
      cert_file: v.optional(nonEmpty("a file path")),
      key_file: v.optional(nonEmpty("a file path")),
    }),
  ),
);

const storage = obj({
  type: v.optional(oneOf(["sqlite", "redis"]), "sqlite"),
  path: v.optional(nonEmpty("a file path")),
  url: v.optional(
    v.pipe(
      nonEmpty("a redis:// URL"),
      v.regex(/^rediss?:\/\/./, (i) => `${i.received} is not a redis:// or rediss:// URL`),
    ),
  ),
  sentinels: v.optional(
    v.pipe(
      v.array(hostPort, "must be a list of host:port"),
      v.minLength(1, "must list at least one sentinel"),
    ),
  ),
  name: v.optional(nonEmpty("the sentinel master group name")),
  cluster_nodes: v.optional(
    v.pipe(v.array(hostPort, "must be a list of host:port"), v.minLength(1, "must list at least one node")),
  ),
  username: v.optional(str()),
  password: v.optional(str()),
  /** The password in a file (a mounted Kubernetes Secret); instead of `password`. */
  password_file: v.optional(nonEmpty("a file path")),
  sentinel_username: v.optional(str()),
  sentinel_password: v.optional(str()),
  sentinel_password_file: v.optional(nonEmpty("a file path")),
  tls: v.optional(redisTls),
  key_prefix: v.optional(
    v.pipe(nonEmpty(), v.regex(/^[A-Za-z0-9._:-]+$/, "may hold only letters, digits and ._:-")),
    "kubeport",
  ),
  replica_acks: v.optional(
    v.pipe(
      v.number((i) => `must be a number of replicas (0-5), got ${i.received}`),
      v.integer("must be a whole number"),
      v.minValue(0, "must be 0 (no replicas: nothing is confirmed) or more"),
      v.maxValue(5, "must be at most 5"),
    ),
  ),
});

const SEVERITIES: ReadonlySet<string> = new Set(["debug", "info", "warn", "warning", "error"]);

const kubeport = (defaults: SchemaDefaults) =>
  obj({
    data_dir: v.optional(nonEmpty("a directory path"), defaults.dataDir),
    nodename: v.optional(nonEmpty(), defaults.nodename),
    storage: v.optional(storage, {}),
    log: v.optional(
      obj({
        severity: v.optional(
          v.pipe(
            v.string((i) => `must be one of DEBUG, INFO, WARN, ERROR, got ${i.received}`),
            // Checked before lower-casing, so the message quotes the value as written.
            v.check(
              (s) => SEVERITIES.has(s.toLowerCase()),
              (i) => `${i.received} is not one of: DEBUG, INFO, WARN, ERROR`,
            ),
            v.transform((s) => {
              const level = s.toLowerCase();
              return (level === "warning" ? "warn" : level) as "debug" | "info" | "warn" | "error";
            }),
          ),
          "info",
        ),
        format: v.optional(oneOf(["text", "json"])),
      }),
      {},
    ),
    join_params: v.optional(
      obj({ method: v.optional(oneOf(["token"]), "token"), token_name: nonEmpty("a token or a file path") }),
    ),
    lock_ttl: v.optional(duration, "15s"),
    diag_addr: v.optional(hostPort),
  });

/**
 * An OIDC username or groups prefix (kube-apiserver's --oidc-username-prefix / EKS usernamePrefix):
 * "-" turns prefixing off; like EKS, it may not contain "system:". The default is applied by the
 * gateway (gateway/auth/oidc-names.ts): `<issuer_url>#`.
 */
const oidcPrefix = v.pipe(
  nonEmpty('a prefix, or "-" for none'),
  v.check(
    (s) => !s.includes("system:"),
    'must not contain "system:" (names from a token may never be Kubernetes system names)',
  ),
  v.check((s) => !hasControlCharacter(s), "must not contain control characters"),
);

const oidc = obj({
  issuer_url: v.pipe(
    nonEmpty("a URL"),
    v.url((i) => `${i.received} is not a URL`),
  ),
  audience: nonEmpty(),
  jwks_url: v.optional(
    v.pipe(
      nonEmpty("a URL"),
      v.url((i) => `${i.received} is not a URL`),
    ),
  ),
  username_claim: v.optional(nonEmpty(), "email"),
  groups_claim: v.optional(nonEmpty(), "groups"),
  username_prefix: v.optional(oidcPrefix),
  groups_prefix: v.optional(oidcPrefix),
  groups_to_roles: v.optional(
    v.record(v.string(), strList("a list of role names"), "must be a map of group: [roles]"),
    {},
  ),
  client_id: v.optional(nonEmpty()),
  client_secret: v.optional(nonEmpty()),
  display_name: v.optional(
    v.pipe(
      nonEmpty(),
      v.maxLength(64, "must be at most 64 characters"),
      v.check((s) => !hasControlCharacter(s), "must not contain control characters"),
    ),
  ),
});

/** proxy_service.login: login sessions, invites and the sign-in lockout. */
const login = obj({
  session_ttl: v.optional(duration, "12h"),
  invite_ttl: v.optional(duration, "24h"),
  max_failures: v.optional(
    v.pipe(
      v.number((i) => `must be a number of failed sign-ins, got ${i.received}`),
      v.integer("must be a whole number"),
      v.minValue(1, "must be at least 1"),
      v.maxValue(1000, "must be at most 1000"),
    ),
    5,
  ),
  lockout: v.optional(duration, "15m"),
  console: v.optional(bool, true),
});

/** Teleport's rate shape: `average` requests per `period` (default 1s), up to `burst` at once. */
const rate = (d: { average: number; burst: number; period: string }) =>
  v.optional(
    obj({
      average: v.optional(positive("a number of requests greater than 0"), d.average),
      burst: v.optional(count("a whole number of requests, at least 1", 1), d.burst),
      period: v.optional(duration, d.period),
    }),
    {},
  );

const limits = obj({
  ws_max_message_bytes: v.optional(byteSize(1024, 1024 * MiB), DEFAULT_LIMITS.ws_max_message_bytes),
  ws_max_buffered_bytes_per_session: v.optional(
    byteSize(64 * 1024, 1024 * MiB),
    DEFAULT_LIMITS.ws_max_buffered_bytes_per_session,
  ),
  ws_max_buffered_bytes_total: v.optional(
    byteSize(64 * 1024, 64 * 1024 * MiB),
    DEFAULT_LIMITS.ws_max_buffered_bytes_total,
  ),
  unauthenticated_rate: rate(DEFAULT_LIMITS.unauthenticated_rate),
  user_rate: rate(DEFAULT_LIMITS.user_rate),
  max_kubernetes_connections: v.optional(
    count("a whole number (0 = no limit)", 0),
    DEFAULT_LIMITS.max_kubernetes_connections,
  ),
  filtered_list_bytes_total: v.optional(
    byteSize(1024 * 1024, 64 * 1024 * MiB),
    DEFAULT_LIMITS.filtered_list_bytes_total,
  ),
  max_connections_per_address: v.optional(
    count("a whole number of connections (0 = no limit)", 0),
    DEFAULT_LIMITS.max_connections_per_address,
  ),
});

const proxyService = obj({
  enabled: v.optional(bool, false),
  listen_addr: v.optional(hostPort, DEFAULT_LISTEN_ADDR),
  public_addr: v.optional(hostWithOptionalPort),
  https_keypairs: v.optional(
    v.array(obj({ cert_file: nonEmpty("a file path"), key_file: nonEmpty("a file path") }), "must be a list"),
    [],
  ),
  oidc: v.optional(v.array(oidc, "must be a list"), []),
  // Teleport's disconnect_expired_cert, on by default here: an open exec, watch, logs -f or
  // port-forward ends when the token it was opened with expires.
  disconnect_expired_credentials: v.optional(bool, true),
  // The longest life (exp - iat) a kubeport user token may claim, whoever signed it: a token that
  // says it lives longer is refused even with a valid signature (a leaked signing key must not mint
  // 10-year tokens). `ctl auth sign` issues at most 30h, the default.
  max_token_ttl: v.optional(
    v.pipe(
      duration,
      v.minValue(60_000, "must be at least 1m"),
      v.maxValue(30 * 3_600_000, "must be at most 30h (the longest token ctl auth sign issues)"),
    ),
    "30h",
  ),
  // SIGTERM: how long the listener keeps accepting with /healthz and /readyz answering 503
  // "draining" (for load balancers that only stop sending on a failed health check), then how long
  // open watches, logs -f and exec sessions may go on once it stopped accepting.
  shutdown_delay: v.optional(durationOrZero(10 * 60_000), "0s"),
  shutdown_grace: v.optional(durationOrZero(60 * 60_000), "30s"),
  trusted_proxies: v.optional(trustedProxies, []),
  limits: v.optional(limits, {}),
  login: v.optional(login, {}),
});

const arn = v.pipe(
  nonEmpty("an ARN"),
  v.regex(/^arn:[^:]+:[^:]+:/, (i) => `${i.received} is not an ARN`),
);

const accountId = v.pipe(
  str("a 12-digit AWS account id"),
  v.regex(/^\d{12}$/, (i) => `${i.received} is not a 12-digit AWS account id`),
);

/** Discover in every account of an AWS Organization, assuming `role_name` in each. */
const organization = obj({
  role_name: v.pipe(
    nonEmpty("an IAM role name"),
    v.regex(/^[\w+=,.@/-]{1,512}$/, (i) => `${i.received} is not an IAM role name (or path/name)`),
  ),
  external_id: v.optional(nonEmpty()),
  include_accounts: v.optional(v.array(accountId, "must be a list of account ids"), []),
  exclude_accounts: v.optional(v.array(accountId, "must be a list of account ids"), []),
});

/** One EKS matcher; also the shape of each matcher in a `discovery_config` resource. */
export const awsMatcher = obj({
  types: v.pipe(
    v.array(oneOf(["eks"]), 'must be a list, e.g. ["eks"]'),
    v.minLength(1, "must list at least one type"),
  ),
  regions: v.optional(v.pipe(strList(), v.minLength(1, 'must list at least one region (or "*")')), ["*"]),
  tags: v.optional(selector, { "*": "*" }),
  assume_role_arn: v.optional(arn),
  external_id: v.optional(nonEmpty()),
  setup_access_for_arn: v.optional(arn),
  kubernetes_groups: v.optional(strList(), ["kubeport"]),
  access_policy_arn: v.optional(
    v.union([v.literal(""), arn], (i) => `must be an ARN or "", got ${i.received}`),
    DEFAULT_ACCESS_POLICY_ARN,
  ),
  setup_access: v.optional(bool, true),
  access_mode: v.optional(oneOf(ACCESS_MODES), "access_policy"),
  /** Take over (tag and manage) an access entry kubeport did not create. */
  adopt: v.optional(bool, false),
  /** Keep kubeport's access entries on clusters that left the matcher (default: remove them). */
  keep_access_entries: v.optional(bool, false),
  organization: v.optional(organization),
});

const discoveryService = obj({
  enabled: v.optional(bool, false),
  discovery_group: v.optional(str(), ""),
  poll_interval: v.optional(duration, "5m"),
  /** Per AWS call attempt (the SDK retries within the scope's deadline). */
  call_timeout: v.optional(duration, "10s"),
  connect_timeout: v.optional(duration, "3s"),
  /** How long one (account, region) fetch may take before it is marked failed. */
  scope_timeout: v.optional(duration, "2m"),
  aws: v.optional(v.array(awsMatcher, "must be a list of matchers"), []),
});

const kubernetesService = obj({
  enabled: v.optional(bool, false),
  resources: v.optional(v.array(obj({ labels: v.optional(selector, { "*": "*" }) }), "must be a list"), []),
});

export interface SchemaDefaults {
  dataDir: string;
  nodename: string;
}

/** The whole file. Defaults that depend on other keys (storage.path, public_addr) are filled by load.ts. */
export const configSchema = (defaults: SchemaDefaults) =>
  obj({
    version: v.picklist(["v1"], (i) =>
      i.received === "undefined"
        ? "is required (version: v1)"
        : `${i.received} is not supported; kubeport reads version: v1`,
    ),
    kubeport: v.optional(kubeport(defaults), {}),
    proxy_service: v.optional(proxyService, {}),
    discovery_service: v.optional(discoveryService, {}),
    kubernetes_service: v.optional(kubernetesService, {}),
    audit: v.optional(auditSection, {}),
  });

/** Keys of a Teleport file that have a kubeport counterpart under another name, for did-you-mean. */
export const KEY_HINTS: Record<string, string> = {
  teleport: "kubeport",
  disconnect_expired_cert: "disconnect_expired_credentials",
};

/** Sections of a teleport.yaml that kubeport has no counterpart for: the hint says to remove them. */
export const TELEPORT_ONLY_SECTIONS: ReadonlySet<string> = new Set([
  "auth_service",
  "ssh_service",
  "app_service",
  "db_service",
  "windows_desktop_service",
  "jamf_service",
]);
