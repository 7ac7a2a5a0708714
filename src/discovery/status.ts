// The discovery_status resource: one per group, rewritten by the leader after reconciles.
import type { Backend, DiscoveryStatus, DiscoveryStatusSpec, Fence } from "../registry/index.ts";
import { scopeError } from "./regions.ts";
import { accountOf, fetchSucceeded, type ScopeState } from "./scopes.ts";

/** The status resource's name for a group ("" → "default"). */
export const statusName = (group: string) => group || "default";

export interface StatusInput {
  group: string;
  holder: string;
  fenceToken: number;
  scopes: DiscoveryStatusSpec["scopes"];
  counts: DiscoveryStatusSpec["counts"];
  lastPoll: string;
  durationMs: number;
  /** Current access-setup problems (kept beside the contract's fields). */
  accessWarnings: string[];
  /** The same, as (cluster, problem) so `ctl discovery status` can group repeated ones. */
  accessProblems?: { cluster: string; problem: string }[];
  /** Matched clusters whose name is held by a resource this group does not own (another group's, or hand-made). */
  conflicts?: StatusConflict[];
  organizations?: StatusOrganization[];
}

/** One organization matcher: how many accounts it covers, and why its last listing failed. */
export interface StatusOrganization {
  matcher: number;
  /** Undefined until ListAccounts succeeded once. */
  accounts?: number;
  last_list?: string;
  error?: string;
}

type ScopeRow = DiscoveryStatusSpec["scopes"][number];

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/**
 * One row per scope: its account (when known), the last fetch (attempt) and last success, the
 * clusters its matchers selected in the last successful fetch (kept while it fails), and its error.
 * A scope still on its first fetch shows state "pending"; one past its deadline, "failed".
 */
export function scopeRows(states: readonly ScopeState[]): ScopeRow[] {
  const listedWith = new Set(
    states.filter((s) => s.last?.listed !== undefined).map((s) => s.scope.creds.key),
  );
  return states
    .map((s): ScopeRow => {
      const account = accountOf(s);
      const error = scopeError(s.last, s.scope.creds.key, listedWith);
      const state = !s.last ? "pending" : fetchSucceeded(s.last) ? "ok" : "failed";
      return {
        matcher: Math.min(...s.scope.matchers.map((m) => m.index)),
        ...(account ? { account } : {}),
        region: s.scope.region,
        last_poll: iso(s.lastAttempt) ?? "",
        clusters: s.found,
        ...(error ? { error } : {}),
        state,
        ...(s.lastSuccess !== undefined ? { last_success: iso(s.lastSuccess) } : {}),
        ...(s.durationMs !== undefined ? { duration_ms: s.durationMs } : {}),
        failures: s.failures,
        throttled: s.throttled,
      } as ScopeRow;
    })
    .sort(
      (a, b) =>
        a.matcher - b.matcher ||
        (a.account ?? "").localeCompare(b.account ?? "") ||
        a.region.localeCompare(b.region),
    );
}

/** A matched cluster left alone: `owner` is the holder's discovery group, or "origin:<origin>" when not discovered. */
export interface StatusConflict {
  name: string;
  owner: string;
}

/** Builds the resource. */
export function toStatus(s: StatusInput): DiscoveryStatus {
  const spec: DiscoveryStatusSpec & {
    access_warnings: string[];
    access_problems: { cluster: string; problem: string }[];
    conflicts: StatusConflict[];
    organizations?: StatusOrganization[];
  } = {
    discovery_group: s.group,
    holder: s.holder,
    fence_token: s.fenceToken,
    scopes: s.scopes,
    counts: s.counts,
    last_poll: s.lastPoll,
    duration_ms: s.durationMs,
    access_warnings: s.accessWarnings,
    access_problems: s.accessProblems ?? [],
    conflicts: s.conflicts ?? [],
    ...(s.organizations?.length ? { organizations: s.organizations } : {}),
  };
  return { kind: "discovery_status", version: "v1", metadata: { name: statusName(s.group) }, spec };
}

/** Writes the status (a put: the leader is the only writer, and the fence guards a stale one). */
export async function writeStatus(backend: Backend, s: StatusInput, fence?: Fence): Promise<void> {
  await backend.put(toStatus(s), fence ? { fence } : undefined);
}
