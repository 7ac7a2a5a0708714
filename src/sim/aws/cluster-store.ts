// Clusters indexed by (account, region) with names kept sorted for paging, plus an ARN index.
import type { SimCluster } from "./types.ts";

interface Bucket {
  names: string[];
  sorted: boolean;
  byName: Map<string, SimCluster>;
}

export const clusterArn = (account: string, region: string, name: string) =>
  `arn:aws:eks:${region}:${account}:cluster/${name}`;

/** First index in sorted `names` whose value is > `after`. */
function upperBound(names: string[], after: string): number {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((names[mid] as string) <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function createClusterStore() {
  const buckets = new Map<string, Bucket>();
  const byArn = new Map<string, SimCluster>();
  const bucket = (account: string, region: string, create: boolean): Bucket | undefined => {
    const key = `${account}/${region}`;
    let b = buckets.get(key);
    if (!b && create) {
      b = { names: [], sorted: true, byName: new Map() };
      buckets.set(key, b);
    }
    return b;
  };

  return {
    has(account: string, region: string, name: string): boolean {
      return bucket(account, region, false)?.byName.has(name) ?? false;
    },
    get(account: string, region: string, name: string): SimCluster | undefined {
      return bucket(account, region, false)?.byName.get(name);
    },
    getByArn(arn: string): SimCluster | undefined {
      return byArn.get(arn);
    },
    add(c: SimCluster): void {
      const b = bucket(c.account, c.region, true) as Bucket;
      if (!b.byName.has(c.name)) {
        // Sorting is deferred to the next page read so bulk seeding stays O(n log n).
        if (b.sorted && b.names.length > 0 && (b.names[b.names.length - 1] as string) > c.name)
          b.sorted = false;
        b.names.push(c.name);
      }
      b.byName.set(c.name, c);
      byArn.set(c.arn, c);
    },
    delete(account: string, region: string, name: string): boolean {
      const b = bucket(account, region, false);
      const c = b?.byName.get(name);
      if (!b || !c) return false;
      b.byName.delete(name);
      byArn.delete(c.arn);
      const i = b.names.indexOf(name);
      if (i >= 0) b.names.splice(i, 1);
      return true;
    },
    /** Up to `max` names after `after` (exclusive), in name order, and whether more follow. */
    page(
      account: string,
      region: string,
      after: string | undefined,
      max: number,
    ): { names: string[]; more: boolean } {
      const b = bucket(account, region, false);
      if (!b) return { names: [], more: false };
      if (!b.sorted) {
        b.names.sort();
        b.sorted = true;
      }
      const start = after === undefined ? 0 : upperBound(b.names, after);
      const names = b.names.slice(start, start + max);
      return { names, more: start + max < b.names.length };
    },
    all(): SimCluster[] {
      return [...byArn.values()];
    },
  };
}

export type ClusterStore = ReturnType<typeof createClusterStore>;
