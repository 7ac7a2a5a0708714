// Which audit events a search keeps: by user, cluster, type (event name or code) and time window.
import type { AuditEvent } from "./events.ts";

export interface AuditQuery {
  user?: string;
  cluster?: string;
  /** An event name ("kube.request", "session.start") or code ("T3009I"); several allowed. */
  types?: readonly string[];
  /** ms since the epoch, inclusive. */
  since?: number;
  /** ms since the epoch, exclusive. */
  until?: number;
}

/** A predicate over stored entries (anything that is not an event is left out). */
export function matcher(q: AuditQuery): (entry: unknown) => boolean {
  const types = q.types && q.types.length > 0 ? new Set(q.types) : undefined;
  return (entry) => {
    if (typeof entry !== "object" || entry === null) return false;
    const e = entry as Partial<AuditEvent>;
    if (typeof e.event !== "string") return false;
    if (types && !types.has(e.event) && !types.has(e.code ?? "")) return false;
    if (q.user !== undefined && e.user !== q.user) return false;
    if (q.cluster !== undefined && e.kubernetes_cluster !== q.cluster) return false;
    if (q.since !== undefined || q.until !== undefined) {
      const t = Date.parse(e.time ?? "");
      if (Number.isNaN(t)) return false;
      if (q.since !== undefined && t < q.since) return false;
      if (q.until !== undefined && t >= q.until) return false;
    }
    return true;
  };
}
