// The `audit` section (retention of the audit stream, session recordings) and
// proxy_service.trusted_proxies, in the config file's schema style.
import { isIP } from "node:net";
import * as v from "valibot";
import { formatBytes, parseByteSize } from "../lib/bytes.ts";
import { parseDuration } from "../lib/duration.ts";

const MiB = 1024 ** 2;
export const DEFAULT_AUDIT_RETENTION = "30d";
export const DEFAULT_AUDIT_MAX_EVENTS = 500_000;
export const DEFAULT_RECORDING_MAX_BYTES = 64 * MiB;
/** Teleport's record_session values, plus off. */
export const RECORD_SESSION_MODES = ["off", "best_effort", "strict"] as const;

const mapOnly = <E extends v.ObjectEntries>(entries: E) =>
  v.pipe(
    v.custom<unknown>((x) => !Array.isArray(x), "must be a map, got a list"),
    v.strictObject(entries, (i) => `must be a map, got ${i.received}`),
  );

const retention = v.pipe(
  v.custom<string>(
    (x) => typeof x === "string" && (parseDuration(x) ?? 0) >= 60_000,
    (i) => `${i.received} is not a duration of a minute or more (write it like "30d", "72h")`,
  ),
  v.transform((x): number => parseDuration(x)!),
);

const maxEvents = v.pipe(
  v.number((i) => `must be a number of events, got ${i.received}`),
  v.integer("must be a whole number"),
  v.minValue(1000, "must be at least 1000"),
);

const size = (min: number, max: number) =>
  v.pipe(
    v.custom<number | string>(
      (x) => parseByteSize(x) !== undefined,
      (i) => `${i.received} is not a size (a number of bytes, or like "64MiB", "1GiB")`,
    ),
    v.transform((x): number => parseByteSize(x)!),
    v.check((n) => n >= min && n <= max, `must be between ${formatBytes(min)} and ${formatBytes(max)}`),
  );

/** file://DIR or s3://BUCKET[/PREFIX][?region=…&endpoint=…&path_style=true|false] (Teleport's audit_sessions_uri). */
const sessionsUri = v.pipe(
  v.string((i) => `must be a file:// or s3:// URI, got ${i.received}`),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = sessionsUriProblem(dataset.value);
    if (problem) addIssue({ message: problem });
  }),
);

const S3_PARAMS = new Set(["region", "endpoint", "path_style"]);

/** What is wrong with a sessions_uri, or undefined. */
export function sessionsUriProblem(s: string): string | undefined {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return `${JSON.stringify(s)} is not a URI (file:///var/lib/kubeport/recordings or s3://bucket/prefix)`;
  }
  if (u.protocol === "file:") return u.pathname.length > 1 ? undefined : "file:// needs a directory path";
  if (u.protocol !== "s3:") return `${u.protocol}// is not supported: use file:// or s3://`;
  if (!u.hostname) return "s3:// needs a bucket name (s3://BUCKET/PREFIX)";
  for (const k of u.searchParams.keys())
    if (!S3_PARAMS.has(k))
      return `s3:// parameter ${JSON.stringify(k)} is not one of: ${[...S3_PARAMS].join(", ")}`;
  const endpoint = u.searchParams.get("endpoint");
  if (endpoint !== null && !/^https?:\/\/[^/]+/.test(endpoint))
    return `endpoint ${JSON.stringify(endpoint)} is not an http(s):// URL`;
  const ps = u.searchParams.get("path_style");
  if (ps !== null && ps !== "true" && ps !== "false") return "path_style must be true or false";
  return undefined;
}

export const auditSection = mapOnly({
  /** Events older than this leave the audit stream. */
  retention: v.optional(retention, DEFAULT_AUDIT_RETENTION),
  /** The stream's size cap (see registry StreamRetention: refusals of the biggest flooder go first). */
  max_events: v.optional(maxEvents, DEFAULT_AUDIT_MAX_EVENTS),
  /** Where recordings go; default file://<data_dir>/recordings. */
  sessions_uri: v.optional(sessionsUri),
  record_session: v.optional(
    v.picklist(
      RECORD_SESSION_MODES,
      (i) => `${i.received} is not one of: ${RECORD_SESSION_MODES.join(", ")}`,
    ),
    "best_effort",
  ),
  /** Per session; past it the recording stops (an event says so) and the session goes on. */
  recording_max_bytes: v.optional(size(64 * 1024, 64 * 1024 * MiB), "64MiB"),
});

/** An address or CIDR (10.0.0.0/8, fd00::/8, 192.0.2.7). */
const cidr = v.pipe(
  v.string((i) => `must be an address or CIDR, got ${i.received}`),
  v.check(
    (s) => parseCidr(s) !== undefined,
    (i) => `${i.received} is not an IP address or CIDR (like 10.0.0.0/8)`,
  ),
);

/** Proxies in front of the gateway whose X-Forwarded-For is believed (Teleport: proxy_service.trusted_proxies). */
export const trustedProxies = v.array(cidr, "must be a list of addresses or CIDRs");

/** An address or CIDR as (address, prefix length, family), or undefined. */
export function parseCidr(
  s: string,
): { address: string; prefix: number; family: "ipv4" | "ipv6" } | undefined {
  const [address = "", bits, ...rest] = s.trim().split("/");
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : Number.NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}
