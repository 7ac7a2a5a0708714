// Injected faults (throttle, denied, down, latency, hang, region_disabled; per account, region, action
// and cluster; at a rate or for a counted burst) and per account+region token buckets.
import type { SimFault } from "./types.ts";

const bare = (action: string) => action.slice(action.indexOf(":") + 1).toLowerCase();

export function createFaults(random: () => number = Math.random) {
  const faults = new Map<string, SimFault>();
  let seq = 0;
  return {
    inject(f: SimFault): string {
      const id = `fault-${++seq}`;
      faults.set(id, { ...f });
      return id;
    },
    remove(id: string): void {
      faults.delete(id);
    },
    /** True while fault `id` is still injected (a "hang" ends when its fault is removed). */
    has(id: string): boolean {
      return faults.has(id);
    },
    clear(): void {
      faults.clear();
    },
    list(): (SimFault & { id: string })[] {
      return [...faults].map(([id, f]) => ({ id, ...f }));
    },
    /** Faults that fire for this call (each drawn against its rate), with their ids. */
    hits(account: string, region: string, action: string, cluster?: string): (SimFault & { id: string })[] {
      if (faults.size === 0) return [];
      const out: (SimFault & { id: string })[] = [];
      for (const [id, f] of faults) {
        if (f.account !== undefined && f.account !== account) continue;
        if (f.region !== undefined && f.region !== region) continue;
        if (f.action !== undefined && bare(f.action) !== bare(action)) continue;
        // A per-cluster fault fires only on calls naming that cluster (DescribeCluster, access entries …).
        if (f.cluster !== undefined && f.cluster !== cluster) continue;
        if (random() >= (f.rate ?? 1)) continue;
        out.push({ id, ...f });
        if (f.count !== undefined && --f.count <= 0) faults.delete(id);
      }
      return out;
    },
  };
}

/** Token buckets keyed by account+region: `take` is false when the bucket is empty. */
export function createRateLimiter(now: () => number = Date.now) {
  let limit: { rps: number; burst: number } | false = false;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    set(l: { rps: number; burst: number } | false): void {
      limit = l;
      buckets.clear();
    },
    take(key: string): boolean {
      if (!limit) return true;
      const t = now();
      const b = buckets.get(key) ?? { tokens: limit.burst, at: t };
      b.tokens = Math.min(limit.burst, b.tokens + ((t - b.at) / 1000) * limit.rps);
      b.at = t;
      buckets.set(key, b);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
  };
}
