// The gateway authenticator end to end: kubeport tokens against a real SQLite registry, OIDC against a
// local issuer (Bun.serve on port 0), every bad-token case refused with its reason, key rotation.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base64url, generateKeyPair, type JWK, SignJWT } from "jose";
import type { OidcIssuerConfig } from "../../src/config/index.ts";
import {
  type ClosableAuthenticator,
  createAuthenticator,
  ensureSigningKey,
  issueUserToken,
  rotateSigningKey,
} from "../../src/gateway/auth/index.ts";
import { isKind, KubeportError } from "../../src/lib/errors.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { openSqliteBackend, type SqliteBackend, type User } from "../../src/registry/index.ts";
import { startTestIdp, type TestIdp } from "./fixture.ts";

const ISSUER = "https://kubeport.test:3080";
const HOUR = 3_600_000;

/** A clock tests move by hand; shared by registry, issuer and authenticator. */
const makeClock = () => {
  let t = Date.now();
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
};

const userResource = (name: string, roles: string[], created: number): User => ({
  kind: "user",
  version: "v1",
  metadata: { name },
  spec: { roles, created: new Date(created).toISOString() },
});

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function setup() {
  const clock = makeClock();
  const backend = openSqliteBackend({ path: ":memory:", clock, pollMs: 20 });
  const auth = createAuthenticator({ backend, issuer: ISSUER, clock, log: silentLogger });
  closers.push(
    () => backend.close(),
    () => auth.close(),
  );
  const issue = (user = "alice", o: { ttlMs?: number; issuer?: string; audience?: string } = {}) =>
    issueUserToken(backend, { user, issuer: ISSUER, clock, ...o });
  return { clock, backend, auth, issue };
}

/** The reason an authentication was refused (fails the test if it was accepted). */
async function refusal(auth: ClosableAuthenticator, header: string | undefined): Promise<string> {
  try {
    const id = await auth.authenticate(header);
    throw new Error(`accepted as ${id.user}`);
  } catch (err) {
    if (!isKind(err, "unauthenticated")) throw err;
    return err.message;
  }
}

const enc = (o: unknown) => base64url.encode(JSON.stringify(o));

describe("kubeport tokens", () => {
  test("a token for an existing user authenticates with the roles of the current user record", async () => {
    const { backend, auth, issue, clock } = setup();
    await backend.put(userResource("alice", ["dev"], clock.now()));
    const token = await issue("alice", { ttlMs: HOUR });
    const id = await auth.authenticate(`Bearer ${token}`);
    expect(id).toMatchObject({ user: "alice", roles: ["dev"], source: "kubeport", issuer: ISSUER });
    expect(id.expiresAt).toBe(Math.floor(clock.now() / 1000) * 1000 + HOUR);
    expect(id.tokenId).toMatch(/^[0-9a-f-]{36}$/);

    const updated = userResource("alice", ["admin"], 0);
    updated.spec.created = ((await backend.get("user", "alice")) as User).spec.created;
    await backend.put(updated);
    const deadline = Date.now() + 3000;
    let roles: string[] = [];
    while (Date.now() < deadline && roles[0] !== "admin") {
      roles = (await auth.authenticate(`Bearer ${token}`)).roles;
      await Bun.sleep(10);
    }
    expect(roles).toEqual(["admin"]);
  });

  describe("bad tokens are refused with the reason", () => {
    const ctx = {} as ReturnType<typeof setup> & { good: string; kid: string; publicJwk: JWK };
    beforeAll(async () => {
      Object.assign(ctx, setup());
      closers.splice(0); // kept for the whole block; closed in afterAll
      await ctx.backend.put(userResource("alice", ["dev"], ctx.clock.now()));
      const key = await ensureSigningKey(ctx.backend, { clock: ctx.clock });
      ctx.kid = String(key.spec.public_jwk.kid);
      ctx.publicJwk = key.spec.public_jwk as JWK;
      ctx.good = await ctx.issue("alice");
    });
    afterAll(async () => {
      ctx.auth.close();
      await ctx.backend.close();
    });
    const claims = () => {
      const now = Math.floor(ctx.clock.now() / 1000);
      return { iss: ISSUER, aud: "kubeport", sub: "alice", iat: now, nbf: now, exp: now + 3600 };
    };
    const strangerSigned = async (kid: string) => {
      const { privateKey } = await generateKeyPair("ES256");
      return new SignJWT(claims()).setProtectedHeader({ alg: "ES256", kid }).sign(privateKey);
    };

    const cases: { name: string; header: () => Promise<string | undefined>; reason: RegExp }[] = [
      { name: "no header", header: async () => undefined, reason: /^no bearer token$/ },
      { name: "not a bearer scheme", header: async () => "Basic YWxpY2U6cHc=", reason: /not a bearer token/ },
      { name: "malformed: not a JWS", header: async () => "Bearer abc", reason: /^malformed token/ },
      { name: "malformed: garbage segments", header: async () => "Bearer a.b.c", reason: /^malformed token/ },
      {
        name: "alg none",
        header: async () => `Bearer ${enc({ alg: "none", typ: "JWT" })}.${enc(claims())}.`,
        reason: /algorithm "none" is not allowed/,
      },
      {
        name: "HS256 signed with the public key bytes",
        header: async () => {
          const secret = new TextEncoder().encode(JSON.stringify(ctx.publicJwk));
          return `Bearer ${await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", kid: ctx.kid }).sign(secret)}`;
        },
        reason: /algorithm "HS256" is not allowed/,
      },
      {
        name: "unknown kid",
        header: async () => `Bearer ${await strangerSigned("no-such-kid")}`,
        reason: /unknown signing key "no-such-kid"/,
      },
      {
        name: "known kid, other key (bad signature)",
        header: async () => `Bearer ${await strangerSigned(ctx.kid)}`,
        reason: /^bad signature$/,
      },
      {
        name: "tampered payload",
        header: async () => {
          const [h, , s] = ctx.good.split(".");
          return `Bearer ${h}.${enc({ ...claims(), sub: "admin" })}.${s}`;
        },
        reason: /^bad signature$/,
      },
      {
        name: "expired",
        header: async () => {
          ctx.clock.advance(-2 * HOUR);
          try {
            return `Bearer ${await ctx.issue("alice", { ttlMs: HOUR })}`;
          } finally {
            ctx.clock.advance(2 * HOUR);
          }
        },
        reason: /^token expired$/,
      },
      {
        name: "not yet valid (nbf beyond the clock tolerance)",
        header: async () => {
          ctx.clock.advance(5 * 60_000);
          try {
            return `Bearer ${await ctx.issue("alice", { ttlMs: HOUR })}`;
          } finally {
            ctx.clock.advance(-5 * 60_000);
          }
        },
        reason: /^token not yet valid$/,
      },
      {
        name: "wrong issuer",
        header: async () => `Bearer ${await ctx.issue("alice", { issuer: "https://evil.test" })}`,
        reason: /^wrong issuer/,
      },
      {
        name: "wrong audience",
        header: async () => `Bearer ${await ctx.issue("alice", { audience: "someone-else" })}`,
        reason: /^wrong audience$/,
      },
    ];
    for (const c of cases) {
      test(c.name, async () => {
        expect(await refusal(ctx.auth, await c.header())).toMatch(c.reason);
      });
    }

    test("the good token of this block is accepted (the cases differ only in what they break)", async () => {
      expect((await ctx.auth.authenticate(`Bearer ${ctx.good}`)).user).toBe("alice");
    });

    test("nbf within the clock tolerance is accepted", async () => {
      ctx.clock.advance(10_000);
      const early = await ctx.issue("alice");
      ctx.clock.advance(-10_000);
      expect((await ctx.auth.authenticate(`Bearer ${early}`)).user).toBe("alice");
    });
  });

  test("a deleted user's token is refused; so is a token issued to an earlier user of the same name", async () => {
    const { backend, auth, issue, clock } = setup();
    await backend.put(userResource("bob", ["dev"], clock.now()));
    const old = await issue("bob");
    expect((await auth.authenticate(`Bearer ${old}`)).user).toBe("bob");
    await backend.delete("user", "bob");
    const until = async (reason: RegExp, token: string) => {
      const deadline = Date.now() + 3000;
      let last = "";
      while (Date.now() < deadline) {
        last = await refusal(auth, `Bearer ${token}`).catch((e) => String(e));
        if (reason.test(last)) break;
        await Bun.sleep(10);
      }
      return last;
    };
    expect(await until(/no longer exists/, old)).toMatch(/user "bob" no longer exists/);
    clock.advance(1000);
    await backend.put(userResource("bob", ["admin"], clock.now()));
    expect(await until(/re-created/, old)).toMatch(/issued to an earlier user "bob"/);
    const fresh = await issue("bob");
    expect((await auth.authenticate(`Bearer ${fresh}`)).roles).toEqual(["admin"]);
  });

  test("issuing refuses unknown users and TTLs beyond the maximum", async () => {
    const { issue } = setup();
    await expect(issue("nobody")).rejects.toThrow(/does not exist/);
    await expect(issue("nobody", { ttlMs: 1000 * HOUR })).rejects.toThrow(/TTL/);
  });
});

describe("key rotation", () => {
  test("a token signed by a retired key verifies until the key expires, then is refused", async () => {
    const { backend, auth, issue, clock } = setup();
    await backend.put(userResource("alice", ["dev"], clock.now()));
    const before = await issue("alice", { ttlMs: 3 * HOUR });
    await rotateSigningKey(backend, { retireAfterMs: HOUR, clock });
    await Bun.sleep(100); // the change feed (polled every 20 ms here) brings the retirement to the cache
    const after = await issue("alice", { ttlMs: 3 * HOUR });
    expect(after.split(".")[0]).not.toBe(before.split(".")[0]); // another kid
    expect((await auth.authenticate(`Bearer ${before}`)).user).toBe("alice");
    clock.advance(HOUR - 60_000);
    expect((await auth.authenticate(`Bearer ${before}`)).user).toBe("alice");
    clock.advance(2 * 60_000);
    expect(await refusal(auth, `Bearer ${before}`)).toMatch(/unknown signing key/);
    expect((await auth.authenticate(`Bearer ${after}`)).user).toBe("alice");
  });

  test("two gateways on one registry share one key and verify each other's tokens", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kubeport-auth-"));
    const open = () => openSqliteBackend({ path: join(dir, "registry.db"), pollMs: 20 });
    const a: SqliteBackend = open();
    const b: SqliteBackend = open();
    const authA = createAuthenticator({ backend: a, issuer: ISSUER, log: silentLogger });
    const authB = createAuthenticator({ backend: b, issuer: ISSUER, log: silentLogger });
    closers.push(
      () => rmSync(dir, { recursive: true, force: true }),
      () => a.close(),
      () => b.close(),
      () => authA.close(),
      () => authB.close(),
    );
    const [ka, kb] = await Promise.all([ensureSigningKey(a), ensureSigningKey(b)]);
    expect(ka.spec.public_jwk.kid).toBe(kb.spec.public_jwk.kid);
    expect((await a.list("signing_key")).length).toBe(1);
    await a.put(userResource("carol", ["dev"], Date.now()));
    const fromA = await issueUserToken(a, { user: "carol", issuer: ISSUER });
    const fromB = await issueUserToken(b, { user: "carol", issuer: ISSUER });
    expect((await authB.authenticate(`Bearer ${fromA}`)).user).toBe("carol");
    expect((await authA.authenticate(`Bearer ${fromB}`)).user).toBe("carol");
    // A rotation on A is picked up by B (unknown kid → one reload).
    await rotateSigningKey(a);
    const rotated = await issueUserToken(a, { user: "carol", issuer: ISSUER });
    expect((await authB.authenticate(`Bearer ${rotated}`)).user).toBe("carol");
  });
});

describe("OIDC", () => {
  let idp: TestIdp;
  let issuerUrl: string;
  let privateKey: CryptoKey;
  beforeAll(async () => {
    idp = await startTestIdp();
    issuerUrl = idp.issuerUrl;
    privateKey = idp.privateKey;
  });
  afterAll(() => idp.stop());

  const oidcConfig = (over: Partial<OidcIssuerConfig> = {}): OidcIssuerConfig => ({
    issuer_url: issuerUrl,
    audience: "kubeport-cli",
    username_claim: "email",
    groups_claim: "groups",
    groups_to_roles: { engineers: ["dev"], sre: ["admin", "dev"] },
    ...over,
  });
  const idpToken = (
    claims: Record<string, unknown> = {},
    header: { alg?: string; kid?: string } = {},
    key: CryptoKey | Uint8Array = privateKey,
  ) => {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: issuerUrl,
      aud: "kubeport-cli",
      sub: "u-123",
      iat: now,
      exp: now + 600,
      email: "dana@example.com",
      groups: ["engineers", "sre", "other"],
      ...claims,
    };
    return new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid: "idp-1", ...header }).sign(key);
  };
  const oidcAuth = (cfg = oidcConfig()) => {
    const backend = openSqliteBackend({ path: ":memory:" });
    const auth = createAuthenticator({ backend, issuer: ISSUER, oidc: [cfg], log: silentLogger });
    closers.push(
      () => backend.close(),
      () => auth.close(),
    );
    return auth;
  };

  test("discovers the JWKS and maps groups to roles", async () => {
    const auth = oidcAuth();
    const id = await auth.authenticate(`Bearer ${await idpToken()}`);
    // groups_to_roles reads the claim's raw values; the Kubernetes names carry the issuer.
    expect(id).toMatchObject({
      user: `${issuerUrl}#dana@example.com`,
      roles: ["admin", "dev"],
      groups: ["engineers", "sre", "other"],
      kubernetesGroups: [`${issuerUrl}#engineers`, `${issuerUrl}#sre`, `${issuerUrl}#other`],
      source: "oidc",
      issuer: issuerUrl,
    });
    expect(idp.hits.discovery).toBeGreaterThanOrEqual(1);
    // Keys are cached: a second token costs no fetch.
    const hits = idp.hits.jwks;
    await auth.authenticate(`Bearer ${await idpToken({ groups: ["engineers"] })}`);
    expect(idp.hits.jwks).toBe(hits);
  });

  test("an explicit jwks_url skips discovery; a single group string is accepted", async () => {
    const before = idp.hits.discovery;
    const auth = oidcAuth(oidcConfig({ jwks_url: `${issuerUrl}/keys` }));
    const id = await auth.authenticate(`Bearer ${await idpToken({ groups: "engineers" })}`);
    expect(id.roles).toEqual(["dev"]);
    expect(idp.hits.discovery).toBe(before);
  });

  const oidcCases: { name: string; token: () => Promise<string>; reason: RegExp }[] = [
    { name: "wrong audience", token: () => idpToken({ aud: "other-app" }), reason: /^wrong audience$/ },
    {
      name: "expired",
      token: () => idpToken({ exp: Math.floor(Date.now() / 1000) - 3600 }),
      reason: /^token expired$/,
    },
    { name: "unknown kid", token: () => idpToken({}, { kid: "idp-2" }), reason: /unknown signing key/ },
    {
      name: "HS256 with the issuer's iss",
      token: () =>
        idpToken({}, { alg: "HS256" }, new TextEncoder().encode("0123456789abcdef0123456789abcdef")),
      reason: /algorithm "HS256" is not allowed/,
    },
    { name: "no username claim", token: () => idpToken({ email: undefined }), reason: /no "email" claim/ },
    {
      name: "signed by another key under the issuer's kid",
      token: async () => idpToken({}, {}, (await generateKeyPair("RS256")).privateKey),
      reason: /^bad signature$/,
    },
  ];
  for (const c of oidcCases) {
    test(`refuses: ${c.name}`, async () => {
      expect(await refusal(oidcAuth(), `Bearer ${await c.token()}`)).toMatch(c.reason);
    });
  }

  const prefixCases: [string, Partial<OidcIssuerConfig>, (issuer: string) => [string, string[]]][] = [
    ["defaults: the issuer URL and #", {}, (u) => [`${u}#dana@example.com`, [`${u}#engineers`]]],
    [
      '"-" turns both off',
      { username_prefix: "-", groups_prefix: "-" },
      () => ["dana@example.com", ["engineers"]],
    ],
    [
      "custom prefixes",
      { username_prefix: "corp:", groups_prefix: "corp-" },
      () => ["corp:dana@example.com", ["corp-engineers"]],
    ],
  ];
  test.each(prefixCases)("prefixes, %s", async (_why, over, want) => {
    const id = await oidcAuth(oidcConfig(over)).authenticate(
      `Bearer ${await idpToken({ groups: ["engineers"] })}`,
    );
    expect([id.user, id.kubernetesGroups]).toEqual(want(issuerUrl));
    expect(id.roles).toEqual(["dev"]);
  });

  const systemCases: [string, Partial<OidcIssuerConfig>, Record<string, unknown>, string][] = [
    [
      "a system: username with prefixing off",
      { username_claim: "preferred_username", username_prefix: "-" },
      { preferred_username: "system:kube-controller-manager" },
      'OIDC claim "preferred_username" value "system:kube-controller-manager" would reach the cluster as user "system:kube-controller-manager": names starting with "system:" are Kubernetes\' own and are never taken from a token (the issuer\'s username_prefix is "-")',
    ],
    [
      "a system: group with prefixing off",
      { groups_prefix: "-" },
      { groups: ["engineers", "system:masters"] },
      'OIDC claim "groups" value "system:masters" would reach the cluster as group "system:masters": names starting with "system:" are Kubernetes\' own and are never taken from a token (the issuer\'s groups_prefix is "-")',
    ],
    [
      "a prefix that completes system: with the claim",
      { username_prefix: "sys" },
      { email: "tem:masters" },
      'OIDC claim "email" value "tem:masters" would reach the cluster as user "system:masters": names starting with "system:" are Kubernetes\' own and are never taken from a token',
    ],
    [
      "a control character in a group",
      {},
      { groups: ["ok", "a\r\nImpersonate-Group: x"] },
      'OIDC claim "groups" value "a\\r\\nImpersonate-Group: x" holds a control character: it cannot be a Kubernetes group name',
    ],
  ];
  test.each(systemCases)("refuses with 403: %s", async (_why, over, claims, message) => {
    const err = await oidcAuth(oidcConfig(over))
      .authenticate(`Bearer ${await idpToken(claims)}`)
      .catch((e) => e);
    expect(err).toBeInstanceOf(KubeportError);
    expect([(err as KubeportError).kind, (err as KubeportError).message]).toEqual(["access_denied", message]);
  });

  test("a system: name behind the default prefix is just a name", async () => {
    const id = await oidcAuth(oidcConfig({ username_claim: "preferred_username" })).authenticate(
      `Bearer ${await idpToken({ preferred_username: "system:admin", groups: ["system:masters"] })}`,
    );
    expect([id.user, id.kubernetesGroups]).toEqual([
      `${issuerUrl}#system:admin`,
      [`${issuerUrl}#system:masters`],
    ]);
  });

  test("an unreachable issuer is 'unavailable', not a silent accept", async () => {
    const auth = oidcAuth(oidcConfig({ issuer_url: "http://127.0.0.1:1", audience: "x" }));
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ email: "e" })
      .setProtectedHeader({ alg: "RS256", kid: "k" })
      .setIssuer("http://127.0.0.1:1")
      .setAudience("x")
      .setExpirationTime(now + 60)
      .sign(privateKey);
    const err = await auth.authenticate(`Bearer ${token}`).catch((e) => e);
    expect(err).toBeInstanceOf(KubeportError);
    expect((err as KubeportError).kind).toBe("unavailable");
  });
});
