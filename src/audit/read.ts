// Reading the audit stream back: the last N entries that match a predicate, paging from the start
// (streams are capped by retention). `ctl audit tail|search` and the console's audit log share it.
import { AUDIT_STREAM } from "./events.ts";
import { upgradeEntry } from "./legacy.ts";

/** The part of a registry backend this needs (audit sits below the registry: a structural type). */
export interface AuditStreamReader {
  readStream(
    stream: string,
    opts?: { after?: string; limit?: number },
  ): Promise<{ id: string; entry: unknown }[]>;
}

/** Entries read per call. */
export const AUDIT_PAGE = 1000;

/**
 * The last `n` entries `keep` accepts, oldest first, and the id of the last entry read. Entries of
 * the old shape come (and are kept or not) as the events they stand for (legacy.ts).
 */
export async function lastEntries(
  backend: AuditStreamReader,
  n: number,
  keep: (entry: unknown) => boolean = () => true,
): Promise<{ entries: { id: string; entry: unknown }[]; lastId?: string }> {
  const ring: { id: string; entry: unknown }[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await backend.readStream(AUDIT_STREAM, {
      ...(after !== undefined ? { after } : {}),
      limit: AUDIT_PAGE,
    });
    for (const stored of page) {
      const row = { id: stored.id, entry: upgradeEntry(stored.entry) };
      if (!keep(row.entry)) continue;
      ring.push(row);
      if (ring.length > n) ring.shift();
    }
    if (page.length > 0) after = page.at(-1)!.id;
    if (page.length < AUDIT_PAGE) break;
  }
  return { entries: ring, ...(after !== undefined ? { lastId: after } : {}) };
}
