// The gateway's audit: the sink (log line + registry stream, refusals aggregated) and the events a
// request or a session produces.

export { createRefusalAggregator, type RefusalAggregator } from "./refusals.ts";
export { type Answered, answered, type RequestFacts, refusalEvent, requestEvent } from "./request-events.ts";
export { type SessionAudit, type SessionFacts, type SessionOutcome, sessionAudit } from "./session-audit.ts";
export { type AuditSinkOptions, type BufferedAuditSink, createAuditSink } from "./sink.ts";
