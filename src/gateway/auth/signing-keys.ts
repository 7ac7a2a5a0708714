// The gateway's token signing keys: stored in the registry so every gateway signs and verifies alike.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";
import { type Clock, systemClock } from "../../lib/clock.ts";
import { isKind, notFound } from "../../lib/errors.ts";
import type { Backend, Resource, SigningKey } from "../../registry/index.ts";

/** The longest a kubeport user token may live; a retired key keeps verifying this long by default. */
export const MAX_TOKEN_TTL_MS = 30 * 3_600_000;

export const SIGNING_ALG = "ES256" as const;

/**
 * Keys are named `sk-<sequence>` (zero-padded, so name order = age). Two gateways that both find
 * no active key race to `create` the same next name, so exactly one key results.
 */
const KEY_NAME = /^sk-(\d+)$/;
const keyName = (seq: number) => `sk-${String(seq).padStart(6, "0")}`;
const seqOf = (k: SigningKey) => Number(KEY_NAME.exec(k.metadata.name)?.[1] ?? 0);

const isLive = (k: SigningKey, now: number) =>
  k.metadata.expires === undefined || Date.parse(k.metadata.expires) > now;

/** The key that signs: the newest active, unexpired one. */
export function activeSigningKey(keys: readonly SigningKey[], now = Date.now()): SigningKey | undefined {
  return keys
    .filter((k) => k.spec.state === "active" && isLive(k, now))
    .sort((a, b) => seqOf(b) - seqOf(a) || b.metadata.name.localeCompare(a.metadata.name))[0];
}

/** Every key that may verify now: active ones, and retired ones until their `expires`. */
export function verifyingKeys(keys: readonly SigningKey[], now = Date.now()): SigningKey[] {
  return keys.filter((k) => isLive(k, now));
}

/** The JWKS document (`/.well-known/jwks.json`): public keys of active and unexpired retired keys. */
export function jwksDocument(keys: readonly SigningKey[], now = Date.now()): { keys: JWK[] } {
  return {
    keys: verifyingKeys(keys, now)
      .sort((a, b) => seqOf(b) - seqOf(a))
      .map((k) => ({ ...(k.spec.public_jwk as JWK), alg: k.spec.alg, use: "sig" })),
  };
}

/** Lists the stored signing keys. */
export async function listSigningKeys(backend: Backend): Promise<SigningKey[]> {
  return (await backend.list("signing_key")) as SigningKey[];
}

/** The JWKS document read from the registry. */
export async function loadJwks(backend: Backend, clock: Clock = systemClock): Promise<{ keys: JWK[] }> {
  return jwksDocument(await listSigningKeys(backend), clock.now());
}

/** Makes a new ES256 key pair as a `signing_key` resource (not stored). kid = RFC 7638 thumbprint. */
export async function newSigningKey(name: string, now: number): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  return {
    kind: "signing_key",
    version: "v1",
    metadata: { name, description: "kubeport token signing key" },
    spec: {
      alg: SIGNING_ALG,
      public_jwk: { ...publicJwk, kid, alg: SIGNING_ALG },
      private_jwk: { ...privateJwk, kid, alg: SIGNING_ALG },
      created: new Date(now).toISOString(),
      state: "active",
    },
  };
}

/** Creates key `sk-<next>`; when another gateway created it first, returns theirs. */
async function createNext(backend: Backend, keys: readonly SigningKey[], now: number): Promise<SigningKey> {
  const next = Math.max(0, ...keys.map(seqOf)) + 1;
  const key = await newSigningKey(keyName(next), now);
  try {
    return (await backend.create(key)) as SigningKey;
  } catch (err) {
    if (!isKind(err, "already_exists")) throw err;
    const theirs = (await backend.get("signing_key", keyName(next))) as SigningKey | undefined;
    if (!theirs) throw notFound(`signing key ${keyName(next)} vanished while being created`, err);
    return theirs;
  }
}

/**
 * Returns the active signing key, creating one when none is active. Safe to race: gateways that
 * start together end up with one key (they `create` the same name; the losers read the winner's).
 */
export async function ensureSigningKey(
  backend: Backend,
  { clock = systemClock }: { clock?: Clock } = {},
): Promise<SigningKey> {
  const keys = await listSigningKeys(backend);
  const now = clock.now();
  const active = activeSigningKey(keys, now);
  if (active) return active;
  const created = await createNext(backend, keys, now);
  return activeSigningKey(await listSigningKeys(backend), now) ?? created;
}

export interface RotateOptions {
  /** How long retired keys keep verifying; at least the longest token TTL. */
  retireAfterMs?: number;
  clock?: Clock;
}

/**
 * Makes a new active key and retires every older active one with `expires` = now + retireAfterMs,
 * so tokens they signed verify until they expire. Returns the new key and the keys it retired.
 */
export async function rotateSigningKey(
  backend: Backend,
  { retireAfterMs = MAX_TOKEN_TTL_MS, clock = systemClock }: RotateOptions = {},
): Promise<{ active: SigningKey; retired: SigningKey[] }> {
  const now = clock.now();
  const active = await createNext(backend, await listSigningKeys(backend), now);
  const expires = new Date(now + retireAfterMs).toISOString();
  const retired: SigningKey[] = [];
  for (const k of await listSigningKeys(backend)) {
    if (k.spec.state !== "active" || seqOf(k) >= seqOf(active)) continue;
    const next: Resource = {
      ...k,
      metadata: { ...k.metadata, expires },
      spec: { ...k.spec, state: "retired" },
    };
    try {
      retired.push((await backend.compareAndSwap(next)) as SigningKey);
    } catch (err) {
      // Another gateway rotating at the same moment retired it first.
      if (!isKind(err, "compare_failed")) throw err;
    }
  }
  return { active, retired };
}
