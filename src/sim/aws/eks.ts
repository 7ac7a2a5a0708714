// EKS REST-JSON operations as @aws-sdk/client-eks calls them (paths, query names and JSON shapes from its model).
import { ACCESS_POLICIES, associate, entryJson, newAccessEntry, PRINCIPAL_RE } from "./access-entries.ts";
import { AwsError } from "./aws-error.ts";
import { clusterArn } from "./cluster-store.ts";
import type { Caller } from "./identity.ts";
import type { SimInternals } from "./state.ts";
import type { SimAccessEntry, SimCluster } from "./types.ts";

export interface EksCall {
  state: SimInternals;
  caller: Caller;
  region: string;
  query: URLSearchParams;
  body: string;
  /** Throws AccessDeniedException unless the caller may do `action` on `resource`. */
  authorize(resource: string): void;
}

type Handler = (call: EksCall, params: string[]) => unknown;
export interface EksRoute {
  action: string;
  params: string[];
  handler: Handler;
}

const json = (call: EksCall): Record<string, unknown> => {
  if (!call.body) return {};
  try {
    const v = JSON.parse(call.body);
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {}
  throw new AwsError("SerializationException", 400, "Start of structure or map found where not expected.");
};

const invalid = (message: string, extra: Record<string, unknown> = {}) =>
  new AwsError("InvalidParameterException", 400, message, extra);

function maxResults(q: URLSearchParams, dflt = 100): number {
  const raw = q.get("maxResults");
  if (raw === null) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 100) {
    throw invalid(
      `1 validation error detected: Value '${raw}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100`,
    );
  }
  return n;
}

const encodeToken = (after: string) => Buffer.from(`v1/${after}`).toString("base64url");
function decodeToken(q: URLSearchParams): string | undefined {
  const t = q.get("nextToken");
  if (t === null || t === "") return undefined;
  const s = Buffer.from(t, "base64url").toString();
  if (!s.startsWith("v1/")) throw invalid("The nextToken provided is invalid.");
  return s.slice(3);
}

/** Names in sorted `all` after the token, one page of them, and the next token. */
function pageOf(all: string[], q: URLSearchParams): { items: string[]; nextToken?: string } {
  const after = decodeToken(q);
  const max = maxResults(q);
  const rest = after === undefined ? all : all.filter((x) => x > after);
  const items = rest.slice(0, max);
  return rest.length > max ? { items, nextToken: encodeToken(items[items.length - 1] as string) } : { items };
}

function cluster(call: EksCall, name: string): SimCluster {
  call.authorize(clusterArn(call.caller.account, call.region, name));
  const c = call.state.store.get(call.caller.account, call.region, name);
  if (!c)
    throw new AwsError("ResourceNotFoundException", 404, `No cluster found for name: ${name}.`, {
      clusterName: name,
    });
  return c;
}

function apiCluster(call: EksCall, name: string): SimCluster {
  const c = cluster(call, name);
  if (c.authenticationMode === "CONFIG_MAP") {
    throw new AwsError(
      "InvalidRequestException",
      400,
      "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.",
      { clusterName: name },
    );
  }
  return c;
}

function entry(call: EksCall, name: string, principalArn: string): { c: SimCluster; e: SimAccessEntry } {
  const c = apiCluster(call, name);
  const e = c.accessEntries.get(principalArn);
  if (!e) {
    throw new AwsError(
      "ResourceNotFoundException",
      404,
      "The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.",
      { clusterName: name },
    );
  }
  return { c, e };
}

function checkGroups(groups: unknown): string[] | undefined {
  if (groups === undefined) return undefined;
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== "string" || g === ""))
    throw invalid("kubernetesGroups must be a list of non-empty strings.");
  for (const g of groups as string[]) {
    if (g.startsWith("system:"))
      throw invalid(`The kubernetes group name ${g} is invalid, it cannot start with system:`);
  }
  return groups as string[];
}

function checkUsername(u: unknown): string | undefined {
  if (u === undefined) return undefined;
  if (typeof u !== "string" || u === "") throw invalid("username must be a non-empty string.");
  if (u.startsWith("system:") || u.startsWith("amazon:") || u.startsWith("aws:") || u.startsWith("eks:")) {
    throw invalid(`The username ${u} is invalid, it cannot start with system:, amazon:, aws: or eks:`);
  }
  return u;
}

function checkTags(tags: unknown, BadRequest = false): Record<string, string> {
  const err = (m: string) => (BadRequest ? new AwsError("BadRequestException", 400, m) : invalid(m));
  if (tags === undefined) return {};
  if (!tags || typeof tags !== "object" || Array.isArray(tags)) throw err("tags must be a map of strings.");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) {
    if (typeof v !== "string") throw err(`Tag value for ${k} must be a string.`);
    if (k.length < 1 || k.length > 128 || v.length > 256) throw err(`Tag ${k} exceeds the allowed length.`);
    if (k.toLowerCase().startsWith("aws:")) throw err("Tag keys cannot start with the reserved prefix aws:.");
    out[k] = v;
  }
  return out;
}

const policyJson = (a: ReturnType<typeof associate>) => ({
  policyArn: a.policyArn,
  accessScope: a.accessScope,
  associatedAt: a.associatedAt.getTime() / 1000,
  modifiedAt: a.modifiedAt.getTime() / 1000,
});

export function clusterJson(c: SimCluster) {
  const creating = c.status === "CREATING";
  return {
    name: c.name,
    arn: c.arn,
    createdAt: c.createdAt.getTime() / 1000,
    version: c.version,
    ...(creating ? {} : { endpoint: c.endpoint }),
    roleArn: `arn:aws:iam::${c.account}:role/eks-cluster-role`,
    resourcesVpcConfig: {
      subnetIds: [],
      securityGroupIds: [],
      vpcId: "vpc-0sim",
      endpointPublicAccess: true,
      endpointPrivateAccess: false,
      publicAccessCidrs: ["0.0.0.0/0"],
    },
    kubernetesNetworkConfig: { serviceIpv4Cidr: "10.100.0.0/16", ipFamily: "ipv4" },
    logging: {
      clusterLogging: [
        { types: ["api", "audit", "authenticator", "controllerManager", "scheduler"], enabled: false },
      ],
    },
    status: c.status,
    certificateAuthority: creating ? {} : { data: c.caData },
    platformVersion: c.platformVersion,
    tags: c.tags,
    accessConfig: { authenticationMode: c.authenticationMode },
    health: { issues: [] },
  };
}

/** Finds a taggable resource (cluster or access entry) by ARN within the caller's account and region. */
function taggable(call: EksCall, arn: string): { tags: Record<string, string> } {
  const m = /^arn:aws[\w-]*:eks:([\w-]+):(\d{12}):(cluster|access-entry)\/([^/]+)(\/.*)?$/.exec(arn);
  if (!m) throw new AwsError("BadRequestException", 400, `Invalid ARN: ${arn}`);
  call.authorize(arn);
  const [, region, account, kind, name] = m as unknown as [string, string, string, string, string];
  const notFound = new AwsError("NotFoundException", 404, `Resource ${arn} not found.`);
  if (region !== call.region || account !== call.caller.account) throw notFound;
  const c = call.state.store.get(account, region, name);
  if (!c) throw notFound;
  if (kind === "cluster") return c;
  for (const e of c.accessEntries.values()) if (e.accessEntryArn === arn) return e;
  throw notFound;
}

const routes: { method: string; path: string[]; action: string; handler: Handler }[] = [
  {
    method: "GET",
    path: ["clusters"],
    action: "ListClusters",
    handler: (call) => {
      call.authorize(`arn:aws:eks:${call.region}:${call.caller.account}:cluster/*`);
      const after = decodeToken(call.query);
      const max = maxResults(call.query);
      const { names, more } = call.state.store.page(call.caller.account, call.region, after, max);
      return more
        ? { clusters: names, nextToken: encodeToken(names[names.length - 1] as string) }
        : { clusters: names };
    },
  },
  {
    method: "GET",
    path: ["clusters", ":"],
    action: "DescribeCluster",
    handler: (call, [name]) => ({ cluster: clusterJson(cluster(call, name as string)) }),
  },
  {
    method: "GET",
    path: ["access-policies"],
    action: "ListAccessPolicies",
    handler: (call) => {
      call.authorize("*");
      const page = pageOf([...ACCESS_POLICIES].sort(), call.query);
      return {
        accessPolicies: page.items.map((arn) => ({ name: arn.slice(arn.lastIndexOf("/") + 1), arn })),
        ...(page.nextToken ? { nextToken: page.nextToken } : {}),
      };
    },
  },
  {
    method: "POST",
    path: ["clusters", ":", "access-entries"],
    action: "CreateAccessEntry",
    handler: (call, [name]) => {
      const c = apiCluster(call, name as string);
      const b = json(call);
      const principalArn = b.principalArn;
      if (typeof principalArn !== "string" || !PRINCIPAL_RE.test(principalArn))
        throw invalid(`The specified principalArn is invalid: ${String(principalArn)}.`, {
          clusterName: c.name,
        });
      const type = b.type === undefined ? "STANDARD" : String(b.type);
      if (
        ![
          "STANDARD",
          "FARGATE_LINUX",
          "EC2_LINUX",
          "EC2_WINDOWS",
          "EC2",
          "HYBRID_LINUX",
          "HYPERPOD_LINUX",
        ].includes(type)
      )
        throw invalid(`The access entry type ${type} is invalid.`);
      const groups = checkGroups(b.kubernetesGroups);
      const username = checkUsername(b.username);
      if (type !== "STANDARD" && (groups?.length || username))
        throw invalid(
          `kubernetesGroups and username cannot be specified for access entries of type ${type}.`,
        );
      const tags = checkTags(b.tags);
      if (c.accessEntries.has(principalArn)) {
        throw new AwsError(
          "ResourceInUseException",
          409,
          "The specified access entry resource is already in use on this cluster.",
          { clusterName: c.name },
        );
      }
      const e = newAccessEntry(c, principalArn, {
        kubernetesGroups: groups ?? [],
        ...(username ? { username } : {}),
        tags,
        type,
      });
      c.accessEntries.set(principalArn, e);
      return { accessEntry: entryJson(e) };
    },
  },
  {
    method: "GET",
    path: ["clusters", ":", "access-entries"],
    action: "ListAccessEntries",
    handler: (call, [name]) => {
      const c = apiCluster(call, name as string);
      const policy = call.query.get("associatedPolicyArn");
      const all = [...c.accessEntries.values()]
        .filter((e) => !policy || e.policies.has(policy))
        .map((e) => e.principalArn)
        .sort();
      const page = pageOf(all, call.query);
      return { accessEntries: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
    },
  },
  {
    method: "GET",
    path: ["clusters", ":", "access-entries", ":"],
    action: "DescribeAccessEntry",
    handler: (call, [name, p]) => ({ accessEntry: entryJson(entry(call, name as string, p as string).e) }),
  },
  {
    method: "POST",
    path: ["clusters", ":", "access-entries", ":"],
    action: "UpdateAccessEntry",
    handler: (call, [name, p]) => {
      const { e } = entry(call, name as string, p as string);
      const b = json(call);
      const groups = checkGroups(b.kubernetesGroups);
      const username = checkUsername(b.username);
      if (e.type !== "STANDARD" && (groups?.length || username))
        throw invalid(
          `kubernetesGroups and username cannot be specified for access entries of type ${e.type}.`,
        );
      if (groups) e.kubernetesGroups = [...groups];
      if (username) e.username = username;
      e.modifiedAt = new Date();
      return { accessEntry: entryJson(e) };
    },
  },
  {
    method: "DELETE",
    path: ["clusters", ":", "access-entries", ":"],
    action: "DeleteAccessEntry",
    handler: (call, [name, p]) => {
      const { c } = entry(call, name as string, p as string);
      c.accessEntries.delete(p as string);
      return {};
    },
  },
  {
    method: "POST",
    path: ["clusters", ":", "access-entries", ":", "access-policies"],
    action: "AssociateAccessPolicy",
    handler: (call, [name, p]) => {
      const { c, e } = entry(call, name as string, p as string);
      const b = json(call);
      const policyArn = b.policyArn;
      if (typeof policyArn !== "string" || !ACCESS_POLICIES.includes(policyArn))
        throw invalid(`The specified policyArn is invalid: ${String(policyArn)}.`, { clusterName: c.name });
      const scope = (b.accessScope ?? {}) as { type?: unknown; namespaces?: unknown };
      if (scope.type !== "cluster" && scope.type !== "namespace")
        throw invalid("accessScope.type must be one of [cluster, namespace].");
      const namespaces = Array.isArray(scope.namespaces) ? scope.namespaces.map(String) : [];
      if (scope.type === "namespace" && namespaces.length === 0)
        throw invalid("accessScope.namespaces must be set when type is namespace.");
      if (scope.type === "cluster" && namespaces.length > 0)
        throw invalid("accessScope.namespaces must be empty when type is cluster.");
      const a = associate(e, policyArn, { type: scope.type, namespaces });
      return { clusterName: c.name, principalArn: e.principalArn, associatedAccessPolicy: policyJson(a) };
    },
  },
  {
    method: "GET",
    path: ["clusters", ":", "access-entries", ":", "access-policies"],
    action: "ListAssociatedAccessPolicies",
    handler: (call, [name, p]) => {
      const { c, e } = entry(call, name as string, p as string);
      const page = pageOf([...e.policies.keys()].sort(), call.query);
      return {
        clusterName: c.name,
        principalArn: e.principalArn,
        associatedAccessPolicies: page.items.map((arn) =>
          policyJson(e.policies.get(arn) as ReturnType<typeof associate>),
        ),
        ...(page.nextToken ? { nextToken: page.nextToken } : {}),
      };
    },
  },
  {
    method: "DELETE",
    path: ["clusters", ":", "access-entries", ":", "access-policies", ":"],
    action: "DisassociateAccessPolicy",
    handler: (call, [name, p, policyArn]) => {
      const { c, e } = entry(call, name as string, p as string);
      if (!e.policies.delete(policyArn as string)) {
        throw new AwsError(
          "ResourceNotFoundException",
          404,
          `The policy ${policyArn} is not associated with this access entry.`,
          { clusterName: c.name },
        );
      }
      return {};
    },
  },
  {
    method: "GET",
    path: ["tags", ":"],
    action: "ListTagsForResource",
    handler: (call, [arn]) => ({ tags: taggable(call, arn as string).tags }),
  },
  {
    method: "POST",
    path: ["tags", ":"],
    action: "TagResource",
    handler: (call, [arn]) => {
      const r = taggable(call, arn as string);
      const tags = checkTags(json(call).tags, true);
      if (Object.keys({ ...r.tags, ...tags }).length > 50)
        throw new AwsError("BadRequestException", 400, "A resource can have at most 50 tags.");
      Object.assign(r.tags, tags);
      return {};
    },
  },
  {
    method: "DELETE",
    path: ["tags", ":"],
    action: "UntagResource",
    handler: (call, [arn]) => {
      const r = taggable(call, arn as string);
      for (const k of call.query.getAll("tagKeys")) delete r.tags[k];
      return {};
    },
  },
];

/** Matches a request to an EKS operation; `segments` are the decoded path segments. */
export function matchEksRoute(method: string, segments: string[]): EksRoute | undefined {
  for (const r of routes) {
    if (r.method !== method || r.path.length !== segments.length) continue;
    const params: string[] = [];
    let ok = true;
    for (let i = 0; i < r.path.length; i++) {
      const want = r.path[i];
      const got = segments[i] as string;
      if (want === ":") {
        if (got === "") ok = false;
        params.push(got);
      } else if (want !== got) ok = false;
      if (!ok) break;
    }
    if (ok) return { action: r.action, params, handler: r.handler };
  }
  return undefined;
}
