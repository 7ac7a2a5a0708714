// From what every scope last fetched to this moment's desired kube_clusters, and which registered
// clusters must stay as they are because nothing complete has been learned about them.
import type { KubeCluster, Resource } from "../registry/index.ts";
import type { AccessTarget } from "./access-entries.ts";
import { toKubeCluster } from "./eks-cluster.ts";
import { ENROLLED_STATUS, KEPT_STATUS } from "./matcher.ts";
import { assignNames } from "./naming.ts";
import { isOwned } from "./reconcile.ts";
import { accountOf, type ScopeState } from "./scopes.ts";
import type { FoundCluster } from "./types.ts";

export interface DesiredInput {
  states: readonly ScopeState[];
  /** False while some organization's accounts are unknown. */
  complete: boolean;
  /** Every kube_cluster in the registry. */
  current: readonly Resource[];
  group: string;
  /**
   * The service's record of what it built: a desired resource's `spec` object → the found cluster it
   * was built from (see `Built`). With `byName` (the same registry, by name), a registered resource
   * built from the very cluster object now desired under its name is taken as the desired one as is.
   */
  reuse?: { built: Built; byName: ReadonlyMap<string, Resource> };
}

/**
 * Desired resources by what they were built from, keyed by their `spec` object: the writer's and the
 * cluster view's copies (a revision added) share it, a registry read or someone else's write never
 * does. A scope whose fetch did not change keeps its cluster objects (service.ts), so a steady-state
 * reconcile finds every cluster here and builds, compares and copies nothing for it.
 */
export type Built = WeakMap<object, FoundCluster>;

export interface Desired {
  desired: KubeCluster[];
  /** Names of this group's resources that stay as they are (see `undecided`). */
  keep: Set<string>;
  /** Resource name → what the access bootstrap needs for it. */
  targets: Map<string, AccessTarget>;
  /**
   * Resource name → this group's clusters to delete that still exist in EKS (they left the
   * matchers): their access entries are removed unless the matcher keeps them.
   */
  departed: Map<string, Departure>;
  /**
   * ACTIVE clusters with access entries, described by a complete fetch, that this group neither
   * enrols nor has registered: one that left the matchers while no leader ran (or whose
   * kube_cluster was already deleted) may still hold this group's entry.
   */
  strays: Departure[];
}

/** A cluster this group does not (or no longer) enrol, and what is known of how to reach it. */
export interface Departure {
  arn: string;
  /** EKS name. */
  name: string;
  region: string;
  /** A scope that listed it (its credentials reach it; its matchers decide keep_access_entries). */
  state?: ScopeState;
  /** The role the cluster was reached through, as registered (when no scope covers it any more). */
  roleArn?: string;
  externalId?: string;
}

const awsOf = (r: Resource) => (r as KubeCluster).spec?.aws;

/**
 * Builds the desired set: every ACTIVE cluster with an endpoint that a matcher of a scope that
 * described it selects (the lowest matcher index wins), named by `assignNames`. A registered cluster
 * that is not desired is deleted only when that is decided for it alone:
 * - every scope covering its (account, region) completed ListClusters, and it was either absent
 *   from the listing or described (then it was not ACTIVE or no longer matched);
 * - no scope in its region has an unknown account;
 * - or no scope covers it any more (region or account left the matchers) and every scope is known.
 * Anything else (a failed listing, its own DescribeCluster failed, a scope still on its first fetch,
 * UPDATING) keeps it as it is.
 */
export function buildDesired({ states, complete, current, group, reuse }: DesiredInput): Desired {
  const picked = new Map<string, { found: FoundCluster; state: ScopeState; matcher: number }>();
  const keepArns = new Set<string>();
  const byScope = new Map<string, ScopeState[]>();
  const unknownRegions = new Set<string>();
  for (const s of states) {
    const account = accountOf(s);
    if (account === undefined) unknownRegions.add(s.scope.region);
    else {
      const k = `${account}/${s.scope.region}`;
      byScope.set(k, [...(byScope.get(k) ?? []), s]);
    }
    for (const f of s.last?.clusters ?? []) {
      if (f.info.status !== ENROLLED_STATUS && f.info.status !== KEPT_STATUS) continue;
      const m = s.scope.matchers.find((x) => x.select.matches(f.info, f.account, f.region));
      if (!m) continue;
      const prev = picked.get(f.info.arn);
      if (!prev || m.index < prev.matcher) picked.set(f.info.arn, { found: f, state: s, matcher: m.index });
    }
  }

  const registered = new Map<string, string>();
  const existing = new Map<string, string | null>();
  for (const r of current) {
    const arn = awsOf(r)?.arn;
    const mine = isOwned(r, group) && arn !== undefined;
    existing.set(r.metadata.name, mine ? arn : null);
    if (mine && !registered.has(arn)) registered.set(arn, r.metadata.name);
  }
  const enrol = [...picked.values()].filter((p) => {
    if (p.found.info.status === ENROLLED_STATUS && p.found.info.endpoint) return true;
    keepArns.add(p.found.info.arn);
    return false;
  });
  const names = assignNames({ clusters: enrol.map((p) => p.found), registered, existing });

  const desired: KubeCluster[] = [];
  const targets = new Map<string, AccessTarget>();
  for (const { found, state, matcher } of enrol) {
    const name = names.get(found.info.arn)!;
    const creds = state.scope.creds;
    // Registered from this same cluster object under this name (name, group and the scope's role
    // are all the resource depends on): it is the desired resource already.
    const have = reuse?.byName.get(name);
    if (have && reuse?.built.get(have.spec as object) === found) desired.push(have as KubeCluster);
    else {
      const built = toKubeCluster(found, name, group, {
        ...(creds.roleArn ? { roleArn: creds.roleArn } : {}),
        ...(creds.externalId ? { externalId: creds.externalId } : {}),
      });
      reuse?.built.set(built.spec, found);
      desired.push(built);
    }
    const config = state.scope.matchers.find((m) => m.index === matcher)!.config;
    targets.set(name, { found, matcher: config, creds, changed: false });
  }

  const wanted = new Set(desired.map((d) => d.metadata.name));
  const keep = new Set<string>();
  const departed = new Map<string, Departure>();
  const undecided = (r: Resource): boolean => {
    const aws = awsOf(r);
    if (!aws) return false;
    if (aws.arn !== undefined && keepArns.has(aws.arn)) return true;
    if (unknownRegions.has(aws.region)) return true;
    const covering = byScope.get(`${aws.account_id}/${aws.region}`);
    if (!covering) return !complete;
    return covering.some((s) => !s.listed || (s.listed.has(aws.name) && s.describeFailed?.has(aws.name)));
  };
  for (const r of current) {
    if (r.kind !== "kube_cluster" || wanted.has(r.metadata.name) || !isOwned(r, group)) continue;
    if (undecided(r)) {
      keep.add(r.metadata.name);
      continue;
    }
    const aws = awsOf(r);
    const covering = byScope.get(`${aws?.account_id}/${aws?.region}`);
    const lister = covering?.find((s) => s.listed?.has(aws?.name ?? ""));
    if (aws?.arn && (!covering || lister))
      departed.set(r.metadata.name, {
        arn: aws.arn,
        name: aws.name,
        region: aws.region,
        ...(lister ? { state: lister } : {}),
        ...(aws.assume_role_arn ? { roleArn: aws.assume_role_arn } : {}),
        ...(aws.external_id ? { externalId: aws.external_id } : {}),
      });
  }
  const strays: Departure[] = [];
  for (const s of states) {
    if (!s.listed) continue;
    for (const f of s.last?.clusters ?? []) {
      const i = f.info;
      if (i.status !== ENROLLED_STATUS || !i.authenticationMode || i.authenticationMode === "CONFIG_MAP")
        continue;
      if (picked.has(i.arn) || registered.has(i.arn)) continue;
      strays.push({ arn: i.arn, name: i.name, region: f.region, state: s });
    }
  }
  return { desired, keep, targets, departed, strays };
}
