// Audit events: their names, codes and fields (Teleport's), one safe line each, and searching them.

export * from "./events.ts";
export { escapeText, formatAuditLine, legacyDetails } from "./format.ts";
export { isLegacyEntry, upgradeEntry } from "./legacy.ts";
export { AUDIT_PAGE, type AuditStreamReader, lastEntries } from "./read.ts";
export { type AuditQuery, matcher } from "./search.ts";
