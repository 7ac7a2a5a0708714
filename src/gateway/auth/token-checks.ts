// Shared token plumbing: the Bearer header, an unverified peek at header and claims, and jose errors → reasons.
import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from "jose";
import { KubeportError, unavailable } from "../../lib/errors.ts";

/** Longest token accepted; kubeconfigs and OIDC tokens are far smaller. */
const MAX_TOKEN_CHARS = 16_384;

/** Clock skew allowed on exp / nbf / iat, in seconds. */
export const CLOCK_TOLERANCE_SEC = 30;

/** Asymmetric algorithms only: HS* (a shared secret) and "none" are refused for every issuer. */
export const OIDC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
];
export const KUBEPORT_ALGORITHMS = ["ES256", "EdDSA"];

/** Why a token was refused: a small fixed set, so it can label a metric and key a log summary. */
export type RefusalReason =
  | "no_token"
  | "malformed"
  | "algorithm"
  | "unknown_key"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "issuer"
  | "audience"
  | "claims"
  | "user";

/** A refused token (401): the message says why to the client, `reason` classifies it for metrics. */
export class TokenRefused extends KubeportError {
  constructor(
    readonly reason: RefusalReason,
    message: string,
    cause?: unknown,
  ) {
    super("unauthenticated", message, { cause });
    this.name = "TokenRefused";
  }
}

/** Throwable refusal of a token for `reason`. */
export const refused = (reason: RefusalReason, message: string, cause?: unknown) =>
  new TokenRefused(reason, message, cause);

/** The reason of a refusal, "other" for an unauthenticated error raised elsewhere. */
export const refusalReason = (err: unknown): RefusalReason | "other" =>
  err instanceof TokenRefused ? err.reason : "other";

/** Extracts the token from `Bearer <token>`; throws unauthenticated when absent. */
export function bearerToken(header: string | undefined): string {
  if (!header || header.trim() === "") throw refused("no_token", "no bearer token");
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m?.[1]) throw refused("malformed", "authorization header is not a bearer token");
  return m[1];
}

export interface Peek {
  header: ProtectedHeaderParameters;
  claims: JWTPayload;
}

/** Decodes header and claims without verifying them, to choose a verifier. */
export function peek(token: string): Peek {
  if (token.length > MAX_TOKEN_CHARS) throw refused("malformed", "malformed token: too long");
  if (token.split(".").length !== 3) throw refused("malformed", "malformed token: not a compact JWS");
  try {
    return { header: decodeProtectedHeader(token), claims: decodeJwt(token) };
  } catch (err) {
    throw refused("malformed", "malformed token", err);
  }
}

/** Refuses an algorithm outside `allowed` before any key is looked up. */
export function checkAlgorithm(header: ProtectedHeaderParameters, allowed: readonly string[]): void {
  const alg = header.alg;
  if (typeof alg !== "string" || !allowed.includes(alg)) {
    throw refused(
      "algorithm",
      `token algorithm ${JSON.stringify(alg ?? null)} is not allowed (allowed: ${allowed.join(", ")})`,
    );
  }
}

/** Turns a jose verification failure into an unauthenticated error naming the reason. */
export function verificationError(err: unknown): KubeportError {
  if (err instanceof KubeportError) return err;
  if (err instanceof errors.JWTExpired) return refused("expired", "token expired", err);
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case "nbf":
        return refused("not_yet_valid", "token not yet valid", err);
      case "iat":
        return refused("not_yet_valid", "token issued in the future", err);
      case "iss":
        return refused("issuer", "wrong issuer", err);
      case "aud":
        return refused("audience", "wrong audience", err);
      default:
        return refused("claims", `invalid claim ${JSON.stringify(err.claim)}: ${err.message}`, err);
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return refused("bad_signature", "bad signature", err);
  if (err instanceof errors.JOSEAlgNotAllowed)
    return refused("algorithm", "token algorithm is not allowed", err);
  if (err instanceof errors.JWKSNoMatchingKey) return refused("unknown_key", "unknown signing key", err);
  if (err instanceof errors.JWKSTimeout) return unavailable("timed out fetching the issuer's keys", err);
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid)
    return refused("malformed", "malformed token", err);
  if (err instanceof errors.JOSEError) return refused("malformed", `invalid token: ${err.message}`, err);
  // WebCrypto's answer to a key used with another algorithm (a real kid with `alg: EdDSA` on an
  // ES256 key): the token is unverifiable, not the gateway broken.
  if (err instanceof TypeError)
    return refused("algorithm", "token algorithm does not match its signing key", err);
  return unavailable(`token verification failed: ${(err as Error)?.message ?? String(err)}`, err);
}
