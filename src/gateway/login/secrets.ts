// Random secrets people hold (session secrets, invite links) and the digests the registry stores instead.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** 32 random bytes, base64url: the secret a client holds (`prefix` tells kinds apart in logs and bug reports). */
export const randomSecret = (prefix = ""): string => `${prefix}${randomBytes(32).toString("base64url")}`;

/** sha256 hex of a secret: the registry name of what it unlocks, so a registry dump holds no usable secret. */
export const digestOf = (secret: string): string => createHash("sha256").update(secret).digest("hex");

/** Compares two strings in time independent of where they differ. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
