// Signing keys in the registry: one key from racing gateways, rotation retires with an expiry, JWKS.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { calculateJwkThumbprint, type JWK } from "jose";
import { openSqliteBackend, type SqliteBackend } from "../../registry/index.ts";
import {
  ensureSigningKey,
  jwksDocument,
  listSigningKeys,
  loadJwks,
  rotateSigningKey,
} from "./signing-keys.ts";

const opened: SqliteBackend[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const b of opened.splice(0)) await b.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const open = (path = ":memory:") => {
  const b = openSqliteBackend({ path });
  opened.push(b);
  return b;
};

describe("signing keys", () => {
  test("two gateways racing ensureSigningKey on one registry end up with one key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kubeport-keys-"));
    dirs.push(dir);
    const [a, b] = [open(join(dir, "r.db")), open(join(dir, "r.db"))];
    const results = await Promise.all([
      ensureSigningKey(a),
      ensureSigningKey(b),
      ensureSigningKey(a),
      ensureSigningKey(b),
    ]);
    expect(new Set(results.map((k) => k.metadata.name)).size).toBe(1);
    expect((await listSigningKeys(a)).length).toBe(1);
    // Later calls return the same key.
    expect((await ensureSigningKey(b)).spec.public_jwk.kid).toBe(results[0]!.spec.public_jwk.kid);
  });

  test("the kid is the RFC 7638 thumbprint of the public key", async () => {
    const key = await ensureSigningKey(open());
    const { kid, alg, ...jwk } = key.spec.public_jwk;
    expect(kid).toBe(await calculateJwkThumbprint(jwk as JWK));
    expect(alg).toBe("ES256");
    expect(key.spec.state).toBe("active");
  });

  test("rotation makes a new active key and retires the old one until now + retireAfterMs", async () => {
    const backend = open();
    const now = Date.now();
    const clock = { now: () => now };
    const first = await ensureSigningKey(backend, { clock });
    const { active, retired } = await rotateSigningKey(backend, { retireAfterMs: 3_600_000, clock });
    expect(active.metadata.name).not.toBe(first.metadata.name);
    expect(retired.map((k) => k.metadata.name)).toEqual([first.metadata.name]);
    expect(retired[0]!.spec.state).toBe("retired");
    expect(retired[0]!.metadata.expires).toBe(new Date(now + 3_600_000).toISOString());
    expect((await ensureSigningKey(backend, { clock })).metadata.name).toBe(active.metadata.name);
  });

  test("the JWKS lists active and unexpired retired public keys, never private parts", async () => {
    const backend = open();
    const first = await ensureSigningKey(backend);
    const { active } = await rotateSigningKey(backend, { retireAfterMs: 60_000 });
    const doc = await loadJwks(backend);
    expect(doc.keys.map((k) => k.kid)).toEqual([
      active.spec.public_jwk.kid as string,
      first.spec.public_jwk.kid as string,
    ]);
    for (const k of doc.keys) expect(k.d).toBeUndefined();
    // Past the retired key's expiry only the active key remains.
    const later = jwksDocument(await listSigningKeys(backend), Date.now() + 120_000);
    expect(later.keys.map((k) => k.kid)).toEqual([active.spec.public_jwk.kid as string]);
  });

  test("rotations racing leave exactly one active key", async () => {
    const backend = open();
    await ensureSigningKey(backend);
    await Promise.all([rotateSigningKey(backend), rotateSigningKey(backend)]);
    const keys = await listSigningKeys(backend);
    expect(keys.filter((k) => k.spec.state === "active").length).toBe(1);
  });
});
