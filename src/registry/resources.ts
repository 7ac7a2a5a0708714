// Resource validation (valibot), one table entry per kind: the same strict style as the config file.
//
// Adding a kind: its spec schema (strictMap: unknown keys are problems with a did-you-mean), an
// entry in KIND_DEFS below, and its type in types.ts. That is all: the registry refuses bad writes
// of it, `ctl create` reports every problem of it with paths and lines, and reads stay tolerant.
import * as v from "valibot";
import { awsMatcherList, RECORD_SESSION_MODES } from "../config/index.ts";
import { parseDuration } from "../lib/duration.ts";
import { checkSelector, isValidLabelKey, selectorSchema } from "../lib/labels.ts";
import { formatPath, type Problem, ProblemsError } from "../lib/problems.ts";
import { type Segments, schemaProblems } from "../lib/schema-problems.ts";
import { strictMap } from "../lib/strict-map.ts";
import { kubeResourcesSchema } from "./kube-resources-schema.ts";
import { KINDS, type Kind, type Resource } from "./types.ts";

/**
 * The largest resource the registry stores, as JSON: far above any real one (a kube_cluster with its
 * CA is ~3 KiB, a large role a few KiB), so a runaway write cannot fill the registry or make every
 * gateway's snapshot and role compile slow. etcd's own limit is 1.5 MiB.
 */
export const MAX_RESOURCE_BYTES = 1024 * 1024;

/**
 * Names are DNS-1123-ish but keep case and '_' because EKS cluster names (stored "as is") may
 * contain both: a letter or digit first, then letters, digits, '-', '_', '.'; at most 253.
 * Users may also carry '@' and '+' (e-mail-like login names).
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]*$/;

const nameSchema = (re: RegExp, allowed: string) =>
  v.pipe(
    str,
    v.nonEmpty("must not be empty"),
    v.maxLength(253, "must be at most 253 characters"),
    v.regex(re, `may hold only ${allowed}, starting with a letter or digit`),
    v.check((s) => !s.includes(".."), "must not contain '..'"),
  );

const str = v.string((i) => `must be a string, got ${i.received}`);
const nonEmpty = v.pipe(str, v.nonEmpty("must not be empty"));
const strList = v.array(str, (i) => `must be a list of strings, got ${i.received}`);
const num = v.number((i) => `must be a number, got ${i.received}`);
const oneOf = <const T extends readonly [string, ...string[]]>(options: T) =>
  v.picklist(options, (i) => `${i.received} is not one of: ${options.join(", ")}`);
const rfc3339 = v.pipe(
  str,
  v.check((s) => !Number.isNaN(Date.parse(s)), "must be an RFC 3339 time"),
);

const labelsSchema = v.record(
  v.pipe(v.string(), v.check(isValidLabelKey, "label key may hold only letters, digits and -_./:")),
  v.string("label values must be strings"),
  (i) => `must be a map of label: value, got ${i.received}`,
);

const metadataSchema = (name: v.GenericSchema<string>) =>
  strictMap({
    name,
    description: v.optional(str),
    labels: v.optional(labelsSchema),
    expires: v.optional(rfc3339),
    revision: v.optional(str),
  });

const kubeClusterSpec = strictMap({
  aws: v.optional(
    strictMap({
      region: nonEmpty,
      account_id: nonEmpty,
      name: nonEmpty,
      arn: v.optional(str),
      created_at: v.optional(v.pipe(str, v.isoTimestamp("must be an RFC 3339 time"))),
      assume_role_arn: v.optional(
        v.pipe(str, v.regex(/^arn:[^:]+:iam::\d{12}:role\/.+$/, "must be an IAM role ARN")),
      ),
      external_id: v.optional(nonEmpty),
    }),
  ),
  endpoint: v.pipe(
    v.string("is required"),
    v.url("must be a URL"),
    v.startsWith("https://", "must be an https:// URL"),
  ),
  ca_data: v.optional(str),
  kubernetes_version: v.optional(str),
  auth: v.optional(v.picklist(["eks", "none"], 'must be "eks" or "none"')),
});

const tokenSpec = strictMap({
  roles: v.pipe(
    v.array(v.picklist(["discovery", "kube", "proxy"], "roles are discovery, kube or proxy")),
    v.minLength(1, "needs at least one role"),
  ),
  hash: v.pipe(str, v.regex(/^[0-9a-f]{64}$/, "must be a sha256 hex digest")),
});

// instance and discovery_status are written only by kubeport itself (never by `ctl create`), and a
// newer version may add fields to them: their shapes are checked, extra fields kept.
const instanceSpec = v.looseObject({
  hostname: str,
  version: str,
  services: strList,
  discovery_group: v.optional(str),
  started: rfc3339,
  last_seen: rfc3339,
  public_addr: v.optional(str),
});

const discoveryStatusSpec = v.looseObject({
  discovery_group: str,
  holder: str,
  fence_token: num,
  scopes: v.array(
    v.looseObject({
      matcher: num,
      account: v.optional(str),
      region: str,
      last_poll: str,
      clusters: num,
      error: v.optional(str),
    }),
  ),
  counts: v.looseObject({ created: num, updated: num, deleted: num, unchanged: num }),
  last_poll: str,
  duration_ms: num,
});

/**
 * Role conditions; `kubernetes_labels` values are RE2 patterns, checked with their position
 * (lib/labels.ts); `kubernetes_resources` rules as Teleport's role v8 (kube-resources-schema.ts).
 */
const conditions = strictMap({
  kubernetes_labels: v.optional(selectorSchema),
  kubernetes_groups: v.optional(strList),
  kubernetes_users: v.optional(strList),
  /** May read the audit log and everyone's session recordings (the web console's auditor pages). */
  review_recordings: v.optional(v.boolean((i) => `must be true or false, got ${i.received}`)),
  kubernetes_resources: v.optional(kubeResourcesSchema),
});

/** A Go-style duration as Teleport writes role options ("8h", "30m", "1h30m"). */
const roleDuration = v.pipe(
  str,
  v.check(
    (s) => (parseDuration(s) ?? 0) > 0,
    (i) => `${i.received} is not a duration (e.g. "8h", "30m")`,
  ),
);

/**
 * Teleport's `options.record_session` shape; kubeport records only Kubernetes sessions, so `default`
 * is its one key (Teleport's `ssh`/`desktop` are did-you-mean'd to it as unknown keys).
 */
const recordSessionOption = strictMap({ default: v.optional(oneOf(RECORD_SESSION_MODES)) });

const roleSpec = strictMap({
  allow: conditions,
  deny: v.optional(conditions),
  options: v.optional(
    strictMap({ max_session_ttl: v.optional(roleDuration), record_session: v.optional(recordSessionOption) }),
  ),
});

const userSpec = strictMap({ roles: strList, created: rfc3339 });

const jwk = v.record(str, v.unknown(), (i) => `must be a JWK map, got ${i.received}`);
const signingKeySpec = strictMap({
  alg: oneOf(["ES256", "EdDSA"]),
  public_jwk: jwk,
  private_jwk: jwk,
  created: rfc3339,
  state: oneOf(["active", "retired"]),
});

/** The matchers are the config file's own (discovery_service.aws): same keys, same messages. */
const discoveryConfigSpec = strictMap({
  discovery_group: v.string('must be a string ("" for no group)'),
  aws: awsMatcherList,
});

const lockTargetName = v.pipe(
  str,
  v.nonEmpty("must not be empty"),
  v.maxLength(253, "must be at most 253 characters"),
);
const lockSpec = strictMap({
  target: v.pipe(
    strictMap({
      user: v.optional(lockTargetName),
      role: v.optional(lockTargetName),
      cluster: v.optional(lockTargetName),
    }),
    v.check(
      (t) => t.user !== undefined || t.role !== undefined || t.cluster !== undefined,
      "must name a user, a role or a cluster",
    ),
  ),
  message: v.optional(v.pipe(str, v.maxLength(1024, "must be at most 1024 characters"))),
  created: v.optional(rfc3339),
});

const sha256Name = { re: /^[0-9a-f]{64}$/, allowed: "a sha256 hex digest" };

const credentialSpec = strictMap({
  password_hash: v.pipe(str, v.startsWith("$argon2", "must be an argon2 PHC string")),
  totp_secret: v.pipe(str, v.regex(/^[A-Z2-7]{16,128}=*$/, "must be a base32 secret")),
  totp_last_step: v.optional(num),
  user_created: rfc3339,
  updated: rfc3339,
});

const inviteSpec = strictMap({
  user: nonEmpty,
  user_created: rfc3339,
  created: rfc3339,
  expires: rfc3339,
  reason: oneOf(["invite", "reset"]),
});

const loginSessionSpec = strictMap({
  user: nonEmpty,
  source: oneOf(["local", "oidc"]),
  issuer: v.optional(str),
  groups: v.optional(strList),
  user_created: v.optional(rfc3339),
  client: oneOf(["cli", "web"]),
  created: rfc3339,
});

interface KindDef {
  spec: v.GenericSchema;
  /** Name rule; default letters, digits and ._- */
  name?: { re: RegExp; allowed: string };
  /**
   * Written only by kubeport: `ctl create` refuses it (with this hint) so a hand-made record cannot
   * pose as an instance, a status or a key.
   */
  internal?: string;
  /**
   * A stored record that fails validation is still handed to readers (with its raw spec) instead
   * of being skipped: for kinds whose absence would widen access (a role's deny rules), the reader
   * must see it and fail closed (the gateway's authorizer does).
   */
  keepInvalid?: boolean;
  /** Valid but probably not meant; `ctl create` prints these. */
  warnings?: (spec: unknown) => Problem[];
}

const KIND_DEFS: Record<Kind, KindDef> = {
  kube_cluster: { spec: kubeClusterSpec },
  token: { spec: tokenSpec },
  instance: { spec: instanceSpec, internal: "instances register themselves when kubeport start runs" },
  role: { spec: roleSpec, keepInvalid: true, warnings: roleWarnings },
  user: { spec: userSpec, name: { re: USER_NAME, allowed: "letters, digits and ._@+-" } },
  signing_key: { spec: signingKeySpec, internal: "use kubeport ctl auth rotate" },
  discovery_status: {
    spec: discoveryStatusSpec,
    internal: "the discovery service writes it after each poll",
  },
  discovery_config: { spec: discoveryConfigSpec },
  // A lock that cannot be read must still lock someone (the gateway: everyone), never no one.
  lock: { spec: lockSpec, keepInvalid: true },
  credential: {
    spec: credentialSpec,
    name: { re: USER_NAME, allowed: "letters, digits and ._@+-" },
    internal: "a user sets it through their invite link (kubeport ctl users add / reset)",
  },
  invite: { spec: inviteSpec, name: sha256Name, internal: "use kubeport ctl users add or ctl users reset" },
  login_session: { spec: loginSessionSpec, name: sha256Name, internal: "people sign in with kubeport login" },
};

const resourceSchemas = Object.fromEntries(
  KINDS.map((kind) => {
    const def = KIND_DEFS[kind];
    const name = def.name ?? { re: NAME, allowed: "letters, digits and ._-" };
    return [
      kind,
      strictMap({
        kind: v.literal(kind),
        version: v.literal("v1", 'must be "v1"'),
        metadata: metadataSchema(nameSchema(name.re, name.allowed)),
        spec: def.spec,
      }),
    ];
  }),
) as unknown as Record<Kind, v.GenericSchema>;

/** True when `kind` is one the registry stores. */
export const isKind = (kind: unknown): kind is Kind =>
  typeof kind === "string" && (KINDS as readonly string[]).includes(kind);

/** Why `ctl create` refuses a kind kubeport writes itself; undefined for kinds people create. */
export const internalKind = (kind: Kind): string | undefined => KIND_DEFS[kind].internal;

export interface ResourceProblemOptions {
  /** The line of a path (relative to the resource) in its source file. */
  lineOf?: (segs: Segments, key: boolean) => number | undefined;
  /** Unknown keys are not problems (reading what a newer version wrote). Default false. */
  ignoreUnknownKeys?: boolean;
}

/**
 * Every problem of one resource as written (any shape): kind, version, metadata, the spec of its
 * kind (unknown keys with a did-you-mean, wrong types, label patterns with their position) and the
 * size limit. Paths are relative to the resource (`spec.deny.kubernetes_labels.team[1]`).
 */
export function resourceProblems(raw: unknown, opts: ResourceProblemOptions = {}): Problem[] {
  const lineOf = opts.lineOf ?? (() => undefined);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return [
      {
        path: "",
        message: "a resource must be an object (a map of kind, version, metadata, spec)",
        line: lineOf([], false),
      },
    ];
  const kind = (raw as { kind?: unknown }).kind;
  if (!isKind(kind))
    return [
      {
        path: "kind",
        message:
          kind === undefined
            ? `is required (one of: ${KINDS.join(", ")})`
            : `unknown kind ${JSON.stringify(kind)} (known: ${KINDS.join(", ")})`,
        line: lineOf(["kind"], false),
      },
    ];
  const bytes = Buffer.byteLength(JSON.stringify(raw));
  if (bytes > MAX_RESOURCE_BYTES)
    return [
      {
        path: "",
        message: `is ${bytes} bytes as JSON; the registry stores resources of at most ${MAX_RESOURCE_BYTES} bytes (1 MiB)`,
        line: lineOf([], false),
      },
    ];
  const { problems } = schemaProblems(resourceSchemas[kind], raw);
  return problems
    .filter((p) => !(opts.ignoreUnknownKeys && p.unknownKey))
    .map((p) => ({ path: formatPath(p.segs), message: p.message, line: lineOf(p.segs, p.atKey) }));
}

/** `role "prod-dev"`: what a resource's problems are about. */
export function resourceSubject(raw: unknown): string {
  const r = raw as { kind?: unknown; metadata?: { name?: unknown } } | null;
  const kind = typeof r?.kind === "string" ? r.kind : "resource";
  const name = r?.metadata?.name;
  return typeof name === "string" && name !== "" ? `${kind} ${JSON.stringify(name)}` : kind;
}

/**
 * Checks a resource and returns it (typed). Throws a ProblemsError (kind bad_parameter) listing
 * every problem with its path, e.g. `kube_cluster "a": 1 problem\n  spec.endpoint: must be an https:// URL`.
 * The registry calls this on every write.
 */
export function validateResource(r: unknown): Resource {
  const problems = resourceProblems(r);
  if (problems.length > 0) throw new ProblemsError("resource", resourceSubject(r), problems);
  return r as Resource;
}

/**
 * What a reader makes of a stored record (`json` already parsed, or undefined when it did not parse):
 * the resource when it is valid (unknown keys from a newer version ignored); for a kind that must
 * not vanish (role), the record as stored under its storage name so the reader can fail closed;
 * otherwise it throws as validateResource does, and the caller skips the record.
 *
 * A record is what its key says: one whose own kind or metadata.name differs from where it is stored
 * (written past the registry, e.g. with sqlite3) is read as the key's (a role or lock, whose spec is
 * then checked as that kind's) or skipped. Read by its own name, a role filed under `no-payments`
 * but naming itself `No-Payments` took its deny rules away from the users holding `no-payments`,
 * and a grant filed under `x` outlived `ctl rm role/x`.
 */
export function readStoredResource(parsed: unknown, where: { kind: string; name: string }): Resource {
  const problems = resourceProblems(parsed, { ignoreUnknownKeys: true });
  if (problems.length === 0) {
    const r = parsed as Resource;
    if (r.kind === where.kind && r.metadata.name === where.name) return r;
    const stored = `stored as ${where.kind}/${where.name} but names itself ${r.kind}/${r.metadata.name}`;
    if (!isKind(where.kind) || !KIND_DEFS[where.kind].keepInvalid)
      throw new ProblemsError("resource", resourceSubject(parsed), [
        { path: "metadata.name", message: stored },
      ]);
    return { ...r, kind: where.kind, metadata: { ...r.metadata, name: where.name } } as Resource;
  }
  if (isKind(where.kind) && KIND_DEFS[where.kind].keepInvalid) {
    const r = (parsed ?? {}) as { metadata?: unknown; spec?: unknown };
    const metadata = typeof r.metadata === "object" && r.metadata !== null ? r.metadata : {};
    return {
      kind: where.kind,
      version: "v1",
      metadata: { ...metadata, name: where.name },
      spec: r.spec,
    } as Resource;
  }
  throw new ProblemsError("resource", resourceSubject(parsed), problems);
}

/** Warnings about a valid resource (`^staging|prod$` in a role); paths relative to the resource. */
export function resourceWarnings(r: Resource): Problem[] {
  return KIND_DEFS[r.kind]?.warnings?.(r.spec) ?? [];
}

function roleWarnings(spec: unknown): Problem[] {
  const s = spec as { allow?: { kubernetes_labels?: unknown }; deny?: { kubernetes_labels?: unknown } };
  return (["allow", "deny"] as const).flatMap((side) =>
    checkSelector(s[side]?.kubernetes_labels).warnings.map((w) => ({
      path: formatPath(["spec", side, "kubernetes_labels", ...w.path]),
      message: w.message,
    })),
  );
}

/** Milliseconds since the epoch at which the resource expires, or undefined when it does not. */
export function expiresAt(r: Resource): number | undefined {
  return r.metadata.expires === undefined ? undefined : Date.parse(r.metadata.expires);
}
