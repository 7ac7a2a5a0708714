// Kubernetes `Status` bodies and the one mapping from KubeportError kinds to HTTP answers.
import { BodyTooLarge, type ErrorKind, KubeportError, RateLimited } from "../lib/errors.ts";

/** An upstream (Kubernetes API server / STS) failure: rendered as 502 Bad Gateway. */
export class UpstreamError extends KubeportError {
  constructor(message: string, cause?: unknown) {
    super("unavailable", message, { cause });
    this.name = "UpstreamError";
  }
}

export interface KubeStatus {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure";
  message: string;
  reason: string;
  code: number;
  details?: Record<string, unknown>;
}

const BY_KIND: Record<ErrorKind, [number, string]> = {
  bad_parameter: [400, "BadRequest"],
  unauthenticated: [401, "Unauthorized"],
  access_denied: [403, "Forbidden"],
  not_found: [404, "NotFound"],
  already_exists: [409, "AlreadyExists"],
  compare_failed: [409, "Conflict"],
  fenced: [409, "Conflict"],
  unavailable: [503, "ServiceUnavailable"],
  uncertain: [503, "ServiceUnavailable"],
  rate_limited: [429, "TooManyRequests"],
};

const REASON_BY_CODE: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  410: "Expired",
  413: "RequestEntityTooLarge",
  429: "TooManyRequests",
  500: "InternalError",
  502: "BadGateway",
  503: "ServiceUnavailable",
  504: "Timeout",
};

/** A Status body for an HTTP code and message. */
export function kubeStatus(code: number, message: string, details?: Record<string, unknown>): KubeStatus {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason: REASON_BY_CODE[code] ?? (code >= 500 ? "InternalError" : "BadRequest"),
    code,
    ...(details ? { details } : {}),
  };
}

/** The HTTP code a thrown value is answered with (500 for anything that is not a KubeportError). */
export function statusCodeOf(err: unknown): number {
  if (err instanceof UpstreamError) return 502;
  if (err instanceof BodyTooLarge) return 413;
  if (err instanceof KubeportError) return BY_KIND[err.kind][0];
  return 500;
}

/** Renders any thrown value as a Status; internal errors do not leak their message. */
export function statusOf(err: unknown): KubeStatus {
  const code = statusCodeOf(err);
  const message = err instanceof KubeportError ? err.message : "internal error";
  // client-go reads the Retry-After header; the Status carries it too, as the API server's 429s do.
  const status = kubeStatus(
    code,
    message,
    err instanceof RateLimited ? { retryAfterSeconds: err.retryAfterSec } : undefined,
  );
  if (err instanceof KubeportError && !(err instanceof UpstreamError)) status.reason = BY_KIND[err.kind][1];
  return status;
}

/** A JSON Response carrying a Status. */
export function statusResponse(status: KubeStatus, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  h.set("content-type", "application/json");
  return new Response(JSON.stringify(status), { status: status.code, headers: h });
}
