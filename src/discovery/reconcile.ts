// The reconciler: a pure diff of registered kube_clusters against the desired set of this poll.
import type { KubeCluster, Resource } from "../registry/index.ts";
import { LABEL_GROUP, LABEL_ORIGIN, ORIGIN_CLOUD } from "./labels.ts";

export interface ReconcileInput {
  /** Every kube_cluster in the registry (any origin, any group). */
  current: readonly Resource[];
  /** What this poll found and enrols, by resource name. */
  desired: readonly KubeCluster[];
  group: string;
  /** Names of owned resources that stay as they are (nothing decided about them; see desired.ts). */
  keep?: ReadonlySet<string>;
}

export interface ReconcilePlan {
  /** New resources (no resource of that name exists). */
  create: KubeCluster[];
  /** Replacements; each carries the current revision for compare-and-swap. */
  update: KubeCluster[];
  /** Names of owned resources to delete. */
  delete: string[];
  /** Desired names held by a resource this group does not own (left alone). */
  conflicts: string[];
  unchanged: number;
  /**
   * The desired resources equal to what is registered, with its revision: the service caches these
   * instead of the registry's parsed copies, so one copy of each cluster's strings (CA data, ARN,
   * endpoint) is held, shared with the fetch it came from.
   */
  same: KubeCluster[];
}

/** True when `r` is owned by `group`: origin cloud and the same group (empty group = no group label). */
export function isOwned(r: Resource, group: string): boolean {
  const labels = r.metadata.labels ?? {};
  if (labels[LABEL_ORIGIN] !== ORIGIN_CLOUD) return false;
  return group === "" ? labels[LABEL_GROUP] === undefined : labels[LABEL_GROUP] === group;
}

/** A create may take over a cloud-origin resource that has no group or the same group. */
const canTakeOver = (r: Resource, group: string) => {
  const labels = r.metadata.labels ?? {};
  return (
    labels[LABEL_ORIGIN] === ORIGIN_CLOUD &&
    (labels[LABEL_GROUP] === undefined || labels[LABEL_GROUP] === group)
  );
};

/**
 * Plans the writes that make the registry match `desired` for `group`:
 * - create what is missing; take over a same-named cloud resource with no/same group;
 * - update only when labels, spec or description differ (revision is ignored), so a poll
 *   where nothing changed plans nothing;
 * - delete owned resources no longer desired, except those in `keep`;
 * - never touch resources of other groups or of other origins.
 */
export function reconcile({ current, desired, group, keep = new Set() }: ReconcileInput): ReconcilePlan {
  const byName = new Map(current.filter((r) => r.kind === "kube_cluster").map((r) => [r.metadata.name, r]));
  const plan: ReconcilePlan = { create: [], update: [], delete: [], conflicts: [], unchanged: 0, same: [] };
  const wanted = new Set<string>();
  for (const want of desired) {
    const name = want.metadata.name;
    wanted.add(name);
    const have = byName.get(name);
    if (!have) plan.create.push(want);
    else if (!isOwned(have, group) && !canTakeOver(have, group)) plan.conflicts.push(name);
    else if (sameContent(have, want)) {
      plan.unchanged++;
      plan.same.push(withRevision(want, have.metadata.revision));
    } else plan.update.push(withRevision(want, have.metadata.revision));
  }
  for (const have of byName.values()) {
    if (wanted.has(have.metadata.name) || !isOwned(have, group) || keep.has(have.metadata.name)) continue;
    plan.delete.push(have.metadata.name);
  }
  return plan;
}

const withRevision = (r: KubeCluster, revision: string | undefined): KubeCluster =>
  revision === undefined || r.metadata.revision === revision
    ? r
    : { ...r, metadata: { ...r.metadata, revision } };

/** Equal ignoring revision and undefined fields. */
export function sameContent(a: Resource, b: Resource): boolean {
  if (a === b) return true;
  const strip = (r: Resource) => ({
    kind: r.kind,
    name: r.metadata.name,
    description: r.metadata.description,
    labels: r.metadata.labels ?? {},
    expires: r.metadata.expires,
    spec: r.spec,
  });
  return deepEqual(strip(a), strip(b));
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
