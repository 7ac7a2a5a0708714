// A session's recording mode: audit.record_session, raised or lowered by the roles that reach the
// cluster (their options.record_session.default, Teleport's role option); the strictest wins.
import type { Grant } from "./identity.ts";

/** off < best_effort < strict. */
export type RecordMode = "off" | "best_effort" | "strict";

const RANK: Record<RecordMode, number> = { off: 0, best_effort: 1, strict: 2 };

/** A session's mode and what set it, for messages: `audit.record_session` or `role "NAME" options.record_session`. */
export interface SessionRecordMode {
  mode: RecordMode;
  setBy: string;
}

const CONFIG = "audit.record_session";

/**
 * The mode of a session on this grant: each granting role counts as its own record_session option,
 * or as the config's audit.record_session when it sets none, and the strictest wins. So a role saying
 * `strict` makes every session on the clusters it reaches strict, and `off` takes effect only when
 * every role reaching the cluster says off (one that says nothing keeps the config's mode). A tie
 * names the config.
 */
export function sessionRecordingMode(
  configured: RecordMode,
  grant: Pick<Grant, "roles" | "recordSession">,
): SessionRecordMode {
  const modes = grant.recordSession;
  if (!modes?.length) return { mode: configured, setBy: CONFIG };
  let best: SessionRecordMode | undefined;
  if (modes.some((m) => m === undefined)) best = { mode: configured, setBy: CONFIG };
  modes.forEach((m, i) => {
    if (m !== undefined && (!best || RANK[m] > RANK[best.mode]))
      best = { mode: m, setBy: `role ${JSON.stringify(grant.roles[i] ?? "?")} options.record_session` };
  });
  return best ?? { mode: configured, setBy: CONFIG };
}
