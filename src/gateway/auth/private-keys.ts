// Imported private signing keys, once per kid (importing costs more than signing).
import { importJWK, type JWK } from "jose";
import type { SigningKey } from "../../registry/index.ts";

const privateKeys = new Map<string, Promise<CryptoKey | Uint8Array>>();

/** The private key of a signing key, imported on first use. */
export const privateKeyOf = (key: SigningKey): Promise<CryptoKey | Uint8Array> => {
  const kid = String(key.spec.public_jwk.kid);
  let p = privateKeys.get(kid);
  if (!p) {
    p = importJWK(key.spec.private_jwk as JWK, key.spec.alg);
    privateKeys.set(kid, p);
  }
  return p;
};
