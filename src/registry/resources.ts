// Resource validation (valibot): kind, version, metadata and the spec shape of each kind.
import * as v from "valibot";
import { checkMatchers } from "../config/index.ts";
import { badParameter } from "../lib/errors.ts";
import { isValidLabelKey } from "../lib/labels.ts";
import { KINDS, type Kind, type Resource } from "./types.ts";

/**
 * Names are DNS-1123-ish but keep case and '_' because EKS cluster names (stored "as is") may
 * contain both: a letter or digit first, then letters, digits, '-', '_', '.'; at most 253.
 * Users may also carry '@' and '+' (e-mail-like login names).
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]*$/;

const nameSchema = (re: RegExp, allowed: string) =>
  v.pipe(
    v.string("must be a string"),
    v.nonEmpty("must not be empty"),
    v.maxLength(253, "must be at most 253 characters"),
    v.regex(re, `may hold only ${allowed}, starting with a letter or digit`),
    v.check((s) => !s.includes(".."), "must not contain '..'"),
  );

const rfc3339 = v.pipe(
  v.string(),
  v.check((s) => !Number.isNaN(Date.parse(s)), "must be an RFC 3339 time"),
);

const labelsSchema = v.record(
  v.pipe(v.string(), v.check(isValidLabelKey, "label key may hold only letters, digits and -_./:")),
  v.string("label values must be strings"),
);

const metadataSchema = (name: v.GenericSchema<string>) =>
  v.looseObject({
    name,
    description: v.optional(v.string()),
    labels: v.optional(labelsSchema),
    expires: v.optional(rfc3339),
    revision: v.optional(v.string()),
  });

const str = v.string();
const strList = v.array(v.string());

const kubeClusterSpec = v.looseObject({
  aws: v.optional(
    v.looseObject({
      region: v.pipe(str, v.nonEmpty()),
      account_id: v.pipe(str, v.nonEmpty()),
      name: v.pipe(str, v.nonEmpty()),
      arn: v.optional(str),
      created_at: v.optional(v.pipe(str, v.isoTimestamp("must be an RFC 3339 time"))),
      assume_role_arn: v.optional(
        v.pipe(str, v.regex(/^arn:[^:]+:iam::\d{12}:role\/.+$/, "must be an IAM role ARN")),
      ),
      external_id: v.optional(v.pipe(str, v.nonEmpty())),
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

const tokenSpec = v.looseObject({
  roles: v.pipe(
    v.array(v.picklist(["discovery", "kube", "proxy"], "roles are discovery, kube or proxy")),
    v.minLength(1, "needs at least one role"),
  ),
  hash: v.pipe(str, v.regex(/^[0-9a-f]{64}$/, "must be a sha256 hex digest")),
});

const instanceSpec = v.looseObject({
  hostname: str,
  version: str,
  services: strList,
  discovery_group: v.optional(str),
  started: rfc3339,
  last_seen: rfc3339,
  public_addr: v.optional(str),
});

const conditions = v.looseObject({
  kubernetes_labels: v.optional(
    v.record(str, v.union([str, strList], "values are a string or a list of strings")),
  ),
  kubernetes_groups: v.optional(strList),
  kubernetes_users: v.optional(strList),
});

const roleSpec = v.looseObject({ allow: conditions, deny: v.optional(conditions) });

const userSpec = v.looseObject({ roles: strList, created: rfc3339 });

const jwk = v.record(str, v.unknown());
const signingKeySpec = v.looseObject({
  alg: v.picklist(["ES256", "EdDSA"]),
  public_jwk: jwk,
  private_jwk: jwk,
  created: rfc3339,
  state: v.picklist(["active", "retired"]),
});

const num = v.number();
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

/** The matchers themselves are checked by the config file's schema (validateResource, below). */
const discoveryConfigSpec = v.strictObject({
  discovery_group: v.string('must be a string ("" for no group)'),
  aws: v.array(v.unknown(), "must be a list of matchers"),
});

const lockTargetName = v.pipe(
  str,
  v.nonEmpty("must not be empty"),
  v.maxLength(253, "must be at most 253 characters"),
);
const lockSpec = v.looseObject({
  target: v.pipe(
    v.looseObject({
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

const SPECS: Record<Kind, v.GenericSchema> = {
  kube_cluster: kubeClusterSpec,
  token: tokenSpec,
  instance: instanceSpec,
  role: roleSpec,
  user: userSpec,
  signing_key: signingKeySpec,
  discovery_status: discoveryStatusSpec,
  discovery_config: discoveryConfigSpec,
  lock: lockSpec,
};

const resourceSchemas = Object.fromEntries(
  KINDS.map((kind) => [
    kind,
    v.looseObject({
      kind: v.literal(kind),
      version: v.literal("v1", 'must be "v1"'),
      metadata: metadataSchema(
        kind === "user"
          ? nameSchema(USER_NAME, "letters, digits and ._@+-")
          : nameSchema(NAME, "letters, digits and ._-"),
      ),
      spec: SPECS[kind],
    }),
  ]),
) as unknown as Record<Kind, v.GenericSchema>;

/** True when `kind` is one the registry stores. */
export const isKind = (kind: unknown): kind is Kind =>
  typeof kind === "string" && (KINDS as readonly string[]).includes(kind);

/**
 * Checks a resource's kind, version, metadata and spec shape and returns it (extra fields kept).
 * Throws `bad_parameter` naming the field, e.g. `kube_cluster "a": spec.endpoint: must be an https:// URL`.
 */
export function validateResource(r: unknown): Resource {
  if (typeof r !== "object" || r === null) throw badParameter("resource must be an object");
  const kind = (r as { kind?: unknown }).kind;
  if (!isKind(kind))
    throw badParameter(`kind: unknown kind ${JSON.stringify(kind)} (known: ${KINDS.join(", ")})`);
  const result = v.safeParse(resourceSchemas[kind], r);
  const matchers =
    kind === "discovery_config"
      ? checkMatchers((r as { spec?: { aws?: unknown } }).spec?.aws, ["spec", "aws"]).problems
      : [];
  if (result.success && matchers.length === 0) return result.output as Resource;
  const name = (r as { metadata?: { name?: unknown } }).metadata?.name;
  const problems = [
    ...new Set([
      ...(result.issues ?? [])
        .filter((issue) => !(kind === "discovery_config" && v.getDotPath(issue)?.startsWith("spec.aws.")))
        .map((issue) => `${v.getDotPath(issue) ?? "(root)"}: ${issue.message}`),
      ...matchers,
    ]),
  ];
  throw badParameter(
    `${kind} ${JSON.stringify(typeof name === "string" ? name : "")}: ${problems.join("; ")}`,
  );
}

/** Milliseconds since the epoch at which the resource expires, or undefined when it does not. */
export function expiresAt(r: Resource): number | undefined {
  return r.metadata.expires === undefined ? undefined : Date.parse(r.metadata.expires);
}
