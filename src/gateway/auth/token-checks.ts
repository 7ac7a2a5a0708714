// Shared token plumbing: the Bearer header, an unverified peek at header and claims, and jose errors → reasons.
import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from "jose";
import { KubeportError, unauthenticated, unavailable } from "../../lib/errors.ts";

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

/** Extracts the token from `Bearer <token>`; throws unauthenticated when absent. */
export function bearerToken(header: string | undefined): string {
  if (!header || header.trim() === "") throw unauthenticated("no bearer token");
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m?.[1]) throw unauthenticated("authorization header is not a bearer token");
  return m[1];
}

export interface Peek {
  header: ProtectedHeaderParameters;
  claims: JWTPayload;
}

/** Decodes header and claims without verifying them, to choose a verifier. */
export function peek(token: string): Peek {
  if (token.length > MAX_TOKEN_CHARS) throw unauthenticated("malformed token: too long");
  if (token.split(".").length !== 3) throw unauthenticated("malformed token: not a compact JWS");
  try {
    return { header: decodeProtectedHeader(token), claims: decodeJwt(token) };
  } catch (err) {
    throw unauthenticated("malformed token", err);
  }
}

/** Refuses an algorithm outside `allowed` before any key is looked up. */
export function checkAlgorithm(header: ProtectedHeaderParameters, allowed: readonly string[]): void {
  const alg = header.alg;
  if (typeof alg !== "string" || !allowed.includes(alg)) {
    throw unauthenticated(
      `token algorithm ${JSON.stringify(alg ?? null)} is not allowed (allowed: ${allowed.join(", ")})`,
    );
  }
}

/** Turns a jose verification failure into an unauthenticated error naming the reason. */
export function verificationError(err: unknown): KubeportError {
  if (err instanceof KubeportError) return err;
  if (err instanceof errors.JWTExpired) return unauthenticated("token expired", err);
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case "nbf":
        return unauthenticated("token not yet valid", err);
      case "iat":
        return unauthenticated("token issued in the future", err);
      case "iss":
        return unauthenticated("wrong issuer", err);
      case "aud":
        return unauthenticated("wrong audience", err);
      default:
        return unauthenticated(`invalid claim ${JSON.stringify(err.claim)}: ${err.message}`, err);
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return unauthenticated("bad signature", err);
  if (err instanceof errors.JOSEAlgNotAllowed) return unauthenticated("token algorithm is not allowed", err);
  if (err instanceof errors.JWKSNoMatchingKey) return unauthenticated("unknown signing key", err);
  if (err instanceof errors.JWKSTimeout) return unavailable("timed out fetching the issuer's keys", err);
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid)
    return unauthenticated("malformed token", err);
  if (err instanceof errors.JOSEError) return unauthenticated(`invalid token: ${err.message}`, err);
  return unavailable(`token verification failed: ${(err as Error)?.message ?? String(err)}`, err);
}
