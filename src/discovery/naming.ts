// Resource names for discovered clusters: the EKS name (or override tag) as is; a readable suffix
// only where two discovered clusters would otherwise share a name.
import { TAG_NAME_OVERRIDE } from "./labels.ts";
import type { FoundCluster } from "./types.ts";

/** The registry's resource-name rule (src/registry/resources.ts). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const isValidResourceName = (s: string) => s.length <= 253 && NAME.test(s) && !s.includes("..");

/** The name a cluster asks for: a valid override tag as is, else its EKS name. */
export function baseName(c: FoundCluster): string {
  const override = c.info.tags[TAG_NAME_OVERRIDE];
  return override !== undefined && isValidResourceName(override) ? override : c.info.name;
}

/**
 * Assigns every cluster a unique resource name, deterministically (independent of input order):
 * 1. the base name when no other cluster of this poll wants it;
 * 2. else `<name>-<region>` for every cluster sharing that base name;
 * 3. where that still collides (same region, other accounts), `<name>-<region>-<account>`;
 * 4. a leftover clash (same account and region, via override tags) adds the EKS name.
 * Returns ARN → name. A suffixed name never steals a name some cluster has at an earlier step.
 */
export function assignNames(clusters: readonly FoundCluster[]): Map<string, string> {
  const sorted = [...clusters].sort((a, b) =>
    a.info.arn < b.info.arn ? -1 : a.info.arn > b.info.arn ? 1 : 0,
  );
  const steps: ((c: FoundCluster) => string)[] = [
    (c) => baseName(c),
    (c) => `${baseName(c)}-${c.region}`,
    (c) => `${baseName(c)}-${c.region}-${c.account}`,
    (c) => `${baseName(c)}-${c.region}-${c.account}-${c.info.name}`,
  ];
  const out = new Map<string, string>();
  const taken = new Set<string>();
  let pending = sorted;
  for (const [i, step] of steps.entries()) {
    const counts = new Map<string, number>();
    for (const c of pending) counts.set(step(c), (counts.get(step(c)) ?? 0) + 1);
    const next: FoundCluster[] = [];
    for (const c of pending) {
      const name = step(c);
      const last = i === steps.length - 1;
      if ((counts.get(name) === 1 && !taken.has(name)) || (last && !taken.has(name))) {
        out.set(c.info.arn, name);
        taken.add(name);
      } else next.push(c);
    }
    pending = next;
  }
  // Only reachable with duplicate ARNs in the input; the first ARN already has its name.
  return out;
}
