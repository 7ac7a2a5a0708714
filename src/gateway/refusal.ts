// Why the gateway refused a request, as a short reason for audit and metrics: from typed errors
// (a 403's role or lock, a 401's token problem, a 429's limit) or, failing that, the status.
import { KubeportError } from "../lib/errors.ts";

/** A 403 that says which rule refused: `reason` (lock, role_denies, no_role_allows, …) and `deniedBy` (`role/NAME`, `lock/NAME`). */
export class AccessRefused extends KubeportError {
  constructor(
    message: string,
    readonly reason: string,
    readonly deniedBy?: string,
  ) {
    super("access_denied", message);
    this.name = "AccessRefused";
  }
}

// 401 messages of the token checks (auth/), for errors that carry no reason of their own.
const TOKEN_REASONS: [RegExp, string][] = [
  [/expired/, "expired"],
  [/unknown signing key|no key id/, "unknown_key"],
  [/bad signature/, "bad_signature"],
  [/^no bearer token/, "no_token"],
  [/is not accepted/, "misplaced_token"],
  [/malformed|not a bearer token|not a compact JWS/, "malformed"],
  [/algorithm/, "algorithm"],
  [/issuer/, "issuer"],
  [/audience/, "audience"],
  [/not yet valid|in the future/, "not_yet_valid"],
  [/no longer exists|was re-created|user/, "user"],
];

const BY_STATUS: Record<number, string> = {
  400: "bad_request",
  401: "invalid_token",
  403: "access_denied",
  404: "not_found",
  409: "conflict",
  429: "rate_limited",
  502: "upstream_error",
  503: "unavailable",
};

/** The reason (and for a 403 the refusing role or lock) of a refusal answered with `status`. */
export function refusalOf(err: unknown, status: number): { reason: string; deniedBy?: string } {
  if (err instanceof AccessRefused)
    return { reason: err.reason, ...(err.deniedBy ? { deniedBy: err.deniedBy } : {}) };
  // Typed refusals from the token checks (`reason`) and the limits (`limit`).
  const typed = err as { reason?: unknown; limit?: unknown } | undefined;
  if (typeof typed?.reason === "string") return { reason: typed.reason };
  if (typeof typed?.limit === "string") return { reason: typed.limit };
  const message = err instanceof Error ? err.message : "";
  if (status === 401) for (const [re, reason] of TOKEN_REASONS) if (re.test(message)) return { reason };
  if (status === 403 && /system:/.test(message)) return { reason: "system_name" };
  return { reason: BY_STATUS[status] ?? (status >= 500 ? "error" : "refused") };
}
