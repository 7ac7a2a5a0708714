// Resource names for discovered clusters. A registered cluster keeps its name; a newcomer takes its
// EKS name (or override tag) as is, and a readable suffix only where that name is already taken by
// another cluster of this group or wanted by another newcomer.
import { NAME_OVERRIDE_TAGS } from "./labels.ts";
import type { FoundCluster } from "./types.ts";

/** The registry's resource-name rule (src/registry/resources.ts). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const isValidResourceName = (s: string) => s.length <= 253 && NAME.test(s) && !s.includes("..");

/** The first override tag (kubeport's, then Teleport's) whose value is a valid resource name. */
export function overrideName(tags: Readonly<Record<string, string>>): string | undefined {
  for (const key of NAME_OVERRIDE_TAGS) {
    const v = tags[key];
    if (v !== undefined && isValidResourceName(v)) return v;
  }
  return undefined;
}

/** The name a cluster asks for: a valid override tag as is, else its EKS name. */
export const baseName = (c: FoundCluster): string => overrideName(c.info.tags) ?? c.info.name;

export interface NamingInput {
  clusters: readonly FoundCluster[];
  /** Cluster ARN → the name this group registered it under. */
  registered: ReadonlyMap<string, string>;
  /**
   * Every existing kube_cluster name → the ARN of the cluster this group registered under it, or
   * null when the resource is not this group's (a name held by another owner is not suffixed
   * around: the reconciler reports it as a conflict).
   */
  existing: ReadonlyMap<string, string | null>;
}

const byArn = (a: FoundCluster, b: FoundCluster) =>
  a.info.arn < b.info.arn ? -1 : a.info.arn > b.info.arn ? 1 : 0;

/**
 * Assigns every cluster a name (ARN → name), deterministically for a given input:
 * - a registered cluster keeps its name, unless an override tag now asks for a name no other
 *   resource holds or cluster wants;
 * - a newcomer takes its base name when no other cluster of this group has it and no other
 *   newcomer wants it; else `<name>-<region>`, then `<name>-<region>-<account>`, then
 *   `…-<eks name>`, each only when unique and free. So a second `payments` in another region
 *   becomes `payments-eu-west-1` and the first stays `payments` — forever.
 */
export function assignNames({ clusters, registered, existing }: NamingInput): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  const wants = new Map<string, number>();
  for (const c of clusters) wants.set(baseName(c), (wants.get(baseName(c)) ?? 0) + 1);
  const sorted = [...clusters].sort(byArn);
  const isFreeFor = (name: string, arn: string) =>
    !used.has(name) && (!existing.has(name) || existing.get(name) === arn);

  const newcomers: FoundCluster[] = [];
  for (const c of sorted) {
    const have = registered.get(c.info.arn);
    if (have === undefined) {
      newcomers.push(c);
      continue;
    }
    const asked = overrideName(c.info.tags);
    const name =
      asked && asked !== have && wants.get(asked) === 1 && isFreeFor(asked, c.info.arn) ? asked : have;
    out.set(c.info.arn, name);
    used.add(name);
  }

  const steps: ((c: FoundCluster) => string)[] = [
    (c) => `${baseName(c)}-${c.region}`,
    (c) => `${baseName(c)}-${c.region}-${c.account}`,
    (c) => `${baseName(c)}-${c.region}-${c.account}-${c.info.name}`,
  ];
  let pending: FoundCluster[] = [];
  for (const c of newcomers) {
    const base = baseName(c);
    const holder = existing.get(base);
    // Free, or held by a resource of another owner (then it is reported as a conflict, not renamed).
    if (wants.get(base) === 1 && !used.has(base) && (holder === undefined || holder === null)) {
      out.set(c.info.arn, base);
      used.add(base);
    } else pending.push(c);
  }
  for (const [i, step] of steps.entries()) {
    const counts = new Map<string, number>();
    for (const c of pending) counts.set(step(c), (counts.get(step(c)) ?? 0) + 1);
    const next: FoundCluster[] = [];
    for (const c of pending) {
      const name = step(c);
      const last = i === steps.length - 1;
      if (isFreeFor(name, c.info.arn) && (counts.get(name) === 1 || last)) {
        out.set(c.info.arn, name);
        used.add(name);
      } else next.push(c);
    }
    pending = next;
  }
  // Only duplicate ARNs or names exhausting every step get here: number them.
  for (const c of pending) {
    let n = 2;
    while (!isFreeFor(`${steps[2]!(c)}-${n}`, c.info.arn)) n++;
    out.set(c.info.arn, `${steps[2]!(c)}-${n}`);
    used.add(`${steps[2]!(c)}-${n}`);
  }
  return out;
}
