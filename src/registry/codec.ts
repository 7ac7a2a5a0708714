// Encoding resources for storage and decoding them back, skipping (and logging) corrupt records.

import { describeError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { readStoredResource } from "./resources.ts";
import type { Kind, Resource } from "./types.ts";

/** The stored form: the resource with its revision set (the revision is also kept beside it). */
export function encodeResource(r: Resource, revision: number | string): string {
  return JSON.stringify({ ...r, metadata: { ...r.metadata, revision: String(revision) } });
}

/**
 * Parses and re-validates a stored record. A corrupt one is logged as a warning and yields
 * undefined, so list and watch keep going — except a role, which is handed on as stored (even
 * unparsable) so the authorizer fails closed on it instead of losing its deny rules.
 */
export function decodeResource(
  json: string,
  where: { kind: Kind | string; name: string; revision?: number | string },
  log: Logger,
): Resource | undefined {
  try {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      parsed = undefined;
    }
    const r = readStoredResource(parsed, { kind: where.kind, name: where.name });
    if (where.revision !== undefined) r.metadata.revision = String(where.revision);
    return r;
  } catch (err) {
    log.warn(
      { kind: where.kind, name: where.name, err: describeError(err) },
      "skipping corrupt registry record",
    );
    return undefined;
  }
}

/** True when the resource has an `expires` time at or before `now`. */
export function isExpired(expires: number | null | undefined, now: number): boolean {
  return expires !== null && expires !== undefined && expires <= now;
}
