// EKS access entries: construction, default usernames, and the lookup EKS does for a caller.
import { accountOf, iamArnFor } from "./identity.ts";
import type { AccessEntryView, SimAccessEntry, SimCluster } from "./types.ts";

export const POLICY_PREFIX = "arn:aws:eks::aws:cluster-access-policy/";
export const ADMIN_POLICY = `${POLICY_PREFIX}AmazonEKSClusterAdminPolicy`;
/** The access policies EKS offers (ListAccessPolicies). */
export const ACCESS_POLICIES = [
  "AmazonEKSAdminPolicy",
  "AmazonEKSClusterAdminPolicy",
  "AmazonEKSEditPolicy",
  "AmazonEKSViewPolicy",
  "AmazonEKSAdminViewPolicy",
  "AmazonEKSAutoNodePolicy",
  "AmazonEKSBlockStoragePolicy",
  "AmazonEKSComputePolicy",
  "AmazonEKSLoadBalancingPolicy",
  "AmazonEKSNetworkingPolicy",
].map((n) => POLICY_PREFIX + n);

export const PRINCIPAL_RE = /^arn:aws[\w-]*:iam::(\d{12}):(user|role)\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/;

/** What EKS puts in `username` when none is given. */
export function defaultUsername(principalArn: string): string {
  const m = PRINCIPAL_RE.exec(principalArn);
  if (m && m[2] === "role") return `arn:aws:sts::${m[1]}:assumed-role/${m[3]}/{{SessionName}}`;
  return principalArn;
}

export function newAccessEntry(
  c: SimCluster,
  principalArn: string,
  opts: {
    kubernetesGroups?: string[];
    username?: string;
    tags?: Record<string, string>;
    type?: string;
    now?: Date;
  },
): SimAccessEntry {
  const now = opts.now ?? new Date();
  const m = PRINCIPAL_RE.exec(principalArn);
  const kind = m?.[2] ?? "user";
  const name = m?.[3] ?? principalArn;
  return {
    clusterName: c.name,
    principalArn,
    kubernetesGroups: [...(opts.kubernetesGroups ?? [])],
    accessEntryArn: `arn:aws:eks:${c.region}:${c.account}:access-entry/${c.name}/${kind}/${accountOf(principalArn)}/${name}/${crypto.randomUUID()}`,
    createdAt: now,
    modifiedAt: now,
    tags: { ...(opts.tags ?? {}) },
    username: opts.username ?? defaultUsername(principalArn),
    type: opts.type ?? "STANDARD",
    policies: new Map(),
  };
}

export function associate(
  e: SimAccessEntry,
  policyArn: string,
  accessScope: { type: string; namespaces: string[] },
  now = new Date(),
) {
  const prev = e.policies.get(policyArn);
  const a = { policyArn, accessScope, associatedAt: prev?.associatedAt ?? now, modifiedAt: now };
  e.policies.set(policyArn, a);
  return a;
}

/** The entry that applies to a caller ARN (an assumed-role ARN matches its role's entry, path or not). */
export function findEntryFor(c: SimCluster, callerArn: string): SimAccessEntry | undefined {
  const direct = c.accessEntries.get(callerArn);
  if (direct) return direct;
  const iam = iamArnFor(callerArn);
  const exact = c.accessEntries.get(iam);
  if (exact || iam === callerArn) return exact;
  const roleName = iam.slice(iam.lastIndexOf("/") + 1);
  const acct = accountOf(iam);
  for (const e of c.accessEntries.values()) {
    const m = PRINCIPAL_RE.exec(e.principalArn);
    if (m && m[1] === acct && m[2] === "role" && m[3] === roleName) return e;
  }
  return undefined;
}

export function viewFor(e: SimAccessEntry, callerArn: string): AccessEntryView {
  const session = /:assumed-role\/[^/]+\/(.+)$/.exec(callerArn)?.[1];
  let username = e.username.replaceAll("{{AccountID}}", accountOf(e.principalArn));
  if (session) username = username.replaceAll("{{SessionName}}", session);
  return { kubernetesGroups: [...e.kubernetesGroups], username, policies: [...e.policies.keys()] };
}

/** JSON shape of an AccessEntry (epoch-second timestamps, as REST-JSON sends them). */
export function entryJson(e: SimAccessEntry) {
  return {
    clusterName: e.clusterName,
    principalArn: e.principalArn,
    kubernetesGroups: e.kubernetesGroups,
    accessEntryArn: e.accessEntryArn,
    createdAt: e.createdAt.getTime() / 1000,
    modifiedAt: e.modifiedAt.getTime() / 1000,
    tags: e.tags,
    username: e.username,
    type: e.type,
  };
}
