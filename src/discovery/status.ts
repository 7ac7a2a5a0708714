// The discovery_status resource: one per group, rewritten by the leader after every poll.
import type { Backend, DiscoveryStatus, DiscoveryStatusSpec, Fence } from "../registry/index.ts";

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
  /** Matched clusters whose name is held by a resource this group does not own (another group's, or hand-made). */
  conflicts?: StatusConflict[];
}

/** A matched cluster left alone: `owner` is the holder's discovery group, or "origin:<origin>" when not discovered. */
export interface StatusConflict {
  name: string;
  owner: string;
}

/** Builds the resource. */
export function toStatus(s: StatusInput): DiscoveryStatus {
  const spec: DiscoveryStatusSpec & { access_warnings: string[]; conflicts: StatusConflict[] } = {
    discovery_group: s.group,
    holder: s.holder,
    fence_token: s.fenceToken,
    scopes: s.scopes,
    counts: s.counts,
    last_poll: s.lastPoll,
    duration_ms: s.durationMs,
    access_warnings: s.accessWarnings,
    conflicts: s.conflicts ?? [],
  };
  return { kind: "discovery_status", version: "v1", metadata: { name: statusName(s.group) }, spec };
}

/** Writes the status (a put: the leader is the only writer, and the fence guards a stale one). */
export async function writeStatus(backend: Backend, s: StatusInput, fence?: Fence): Promise<void> {
  await backend.put(toStatus(s), fence ? { fence } : undefined);
}
