// PKCE (RFC 7636) with S256, and the random state/nonce values of an OAuth sign-in.
import { createHash, randomBytes } from "node:crypto";

/** 32 random bytes, base64url: 43 characters of [A-Za-z0-9-_] (RFC 7636 §4.1's recommendation). */
export const newVerifier = (): string => randomBytes(32).toString("base64url");

/** BASE64URL(SHA256(ASCII(verifier))) without padding (§4.2). */
export const challengeOf = (verifier: string): string =>
  createHash("sha256").update(verifier, "ascii").digest("base64url");

/** An unguessable `state` or `nonce`. */
export const newState = (): string => randomBytes(24).toString("base64url");
