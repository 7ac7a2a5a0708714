// Typed errors shared by every component; each keeps its `cause` so logs show the whole chain.

export type ErrorKind =
  | "bad_parameter"
  | "not_found"
  | "already_exists"
  | "compare_failed"
  | "access_denied"
  | "unauthenticated"
  | "unavailable"
  | "fenced"
  | "uncertain"
  | "rate_limited";

/** What an error is about, when it is one record: for hints such as "check with ctl get KIND NAME". */
export interface ErrorSubject {
  kind: string;
  name: string;
}

export class KubeportError extends Error {
  readonly kind: ErrorKind;
  subject?: ErrorSubject;
  /**
   * What the person should do next, in a full sentence, when the command knows better than the
   * generic "check with ctl get KIND NAME, then retry" (e.g. the user is stored but its invite link is not).
   */
  hint?: string;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = "KubeportError";
  }
}

export const badParameter = (msg: string, cause?: unknown) =>
  new KubeportError("bad_parameter", msg, { cause });
export const notFound = (msg: string, cause?: unknown) => new KubeportError("not_found", msg, { cause });
export const alreadyExists = (msg: string, cause?: unknown) =>
  new KubeportError("already_exists", msg, { cause });
export const compareFailed = (msg: string, cause?: unknown) =>
  new KubeportError("compare_failed", msg, { cause });
export const accessDenied = (msg: string, cause?: unknown) =>
  new KubeportError("access_denied", msg, { cause });
export const unauthenticated = (msg: string, cause?: unknown) =>
  new KubeportError("unauthenticated", msg, { cause });
export const unavailable = (msg: string, cause?: unknown) => new KubeportError("unavailable", msg, { cause });
/** A request over one of the gateway's limits; `retryAfterSec` is when trying again can succeed. */
export class RateLimited extends KubeportError {
  constructor(
    message: string,
    readonly retryAfterSec: number,
    /** Which limit (a metric label): address_rate, user_rate, streams. */
    readonly limit: string,
  ) {
    super("rate_limited", message);
    this.name = "RateLimited";
  }
}

/**
 * A request body over what the gateway reads of it (lib/bounded-body.ts): answered 413, naming the
 * limit. Its kind is bad_parameter (the client's input); status.ts gives it its own code.
 */
export class BodyTooLarge extends KubeportError {
  constructor(
    readonly limit: number,
    /** Whose limit it is, e.g. "the most /v1/auth/login reads". */
    why: string,
  ) {
    super("bad_parameter", `the request body is over ${limit} bytes (${why})`);
    this.name = "BodyTooLarge";
  }
}

/** A write refused because a newer leader-lock fencing token exists. */
export const fenced = (msg: string, cause?: unknown) => new KubeportError("fenced", msg, { cause });

/**
 * A write that may or may not have been applied, or was applied but not confirmed durable (no
 * replica acknowledged it, or its reply was lost): the caller must check and retry, never report it done.
 */
export const uncertain = (msg: string, cause?: unknown, subject?: ErrorSubject) => {
  const e = new KubeportError("uncertain", msg, { cause });
  if (subject) e.subject = subject;
  return e;
};

/** True when `err` is a KubeportError of the given kind. */
export function isKind(err: unknown, kind: ErrorKind): err is KubeportError {
  return err instanceof KubeportError && err.kind === kind;
}

/**
 * A one-line description of any thrown value, following `cause` links. A cause whose message the
 * text already holds is skipped: wrappers often repeat their cause (`sqlite registry at P: ${msg}`),
 * and the chain would otherwise print the same words twice.
 */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 5; depth++) {
    const message = cur instanceof Error ? cur.message : String(cur);
    if (message && !parts.some((p) => p.includes(message))) parts.push(message);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(": ");
}
