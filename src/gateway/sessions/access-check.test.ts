import { describe, expect, test } from "bun:test";
import type { KubeCluster, Lock, Role, SigningKey, User } from "../../registry/index.ts";
import { createStaticAuthorizer } from "../authorize.ts";
import type { Authorizer, Identity } from "../identity.ts";
import { requestInfo } from "../request-info.ts";
import {
  type AccessCheckOptions,
  createAccessCheck,
  type StreamRequest,
  streamRequest,
} from "./access-check.ts";

const NOW = Date.parse("2026-12-01T12:00:00Z");
const T0 = "2026-11-01T00:00:00.000Z";
const LATER = "2026-11-20T00:00:00.000Z";

const role = (name: string, env: string): Role => ({
  kind: "role",
  version: "v1",
  metadata: { name },
  spec: { allow: { kubernetes_labels: { env }, kubernetes_groups: ["g"] } },
});
const cluster = (name: string, env: string): KubeCluster => ({
  kind: "kube_cluster",
  version: "v1",
  metadata: { name, labels: { env } },
  spec: { endpoint: "https://x" },
});
const user = (name: string, roles: string[], created = T0): User => ({
  kind: "user",
  version: "v1",
  metadata: { name },
  spec: { roles, created },
});
const lock = (target: Lock["spec"]["target"]): Lock => ({
  kind: "lock",
  version: "v1",
  metadata: { name: "l" },
  spec: { target, message: "go away" },
});

const alice: Identity = {
  user: "alice",
  roles: ["dev"],
  source: "kubeport",
  issuer: "kubeport",
  expiresAt: NOW + 60_000,
  userCreated: T0,
};

interface World {
  users?: User[];
  removed?: Record<string, string>;
  locks?: Lock[];
  /** Login sessions the cache saw deleted. */
  ended?: string[];
  /** Signing keys the cache holds, and kids it saw deleted. */
  keys?: SigningKey[];
  removedKids?: string[];
  clusters?: KubeCluster[];
  registryUsers?: boolean;
  disconnectExpired?: boolean;
  authorizer?: Authorizer;
}

function check(w: World, identity: Identity = alice, clusterName = "dev-1") {
  const users = new Map((w.users ?? [user("alice", ["dev"])]).map((u) => [u.metadata.name, u]));
  const clusters = new Map((w.clusters ?? [cluster("dev-1", "dev")]).map((c) => [c.metadata.name, c]));
  const opts: AccessCheckOptions = {
    cache: {
      user: (n) => users.get(n),
      removedUser: (n) => w.removed?.[n],
      cluster: (n) => clusters.get(n),
      locks: () => w.locks ?? [],
      endedSession: (n) => w.ended?.includes(n) ?? false,
      signingKey: (kid) => w.keys?.find((k) => k.spec.public_jwk.kid === kid),
      removedKey: (kid) => w.removedKids?.includes(kid) ?? false,
    },
    authorizer: w.authorizer ?? createStaticAuthorizer([role("dev", "dev"), role("prod", "prod")]),
    registryUsers: w.registryUsers ?? true,
    disconnectExpired: w.disconnectExpired ?? true,
    clock: { now: () => NOW },
  };
  return createAccessCheck(opts)({ identity, cluster: clusterName });
}

const signingKey = (kid: string, expires?: string): SigningKey => ({
  kind: "signing_key",
  version: "v1",
  metadata: { name: `sk-${kid}`, ...(expires ? { expires } : {}) },
  spec: {
    alg: "ES256",
    public_jwk: { kid },
    private_jwk: { kid },
    created: T0,
    state: expires ? "retired" : "active",
  },
});

describe("the signing key of the stream's token", () => {
  const signed: Identity = { ...alice, keyId: "k1" };
  test("an active key, or a retired one before its expires, keeps the stream", () => {
    expect(check({ keys: [signingKey("k1")] }, signed)).toBeUndefined();
    expect(check({ keys: [signingKey("k1", "2026-12-01T13:00:00Z")] }, signed)).toBeUndefined();
  });
  test("a key retired with expires passed (rotate --retire-after 0s) ends it: 401 naming when", () => {
    expect(check({ keys: [signingKey("k1", "2026-12-01T11:59:59Z")] }, signed)).toEqual({
      code: 401,
      cause: "key",
      message:
        "kubeport: the signing key of your token was retired at 2026-12-01T11:59:59.000Z; get a new token and run the command again",
    });
  });
  test("a key the cache saw deleted ends it; one it has not seen yet (made moments ago elsewhere) does not", () => {
    expect(check({ keys: [], removedKids: ["k1"] }, signed)).toMatchObject({ code: 401, cause: "key" });
    expect(check({ keys: [] }, signed)).toBeUndefined();
  });
  test("an injected authenticator's identities (registryUsers: false) are not checked against registry keys", () => {
    expect(check({ keys: [], removedKids: ["k1"], registryUsers: false }, signed)).toBeUndefined();
  });
});

describe("createAccessCheck", () => {
  test("a stream whose access is unchanged goes on", () => {
    expect(check({})).toBeUndefined();
  });

  test("a stream opened with a signed-out login session's token ends (401); other sessions' go on", () => {
    const viaSession = { ...alice, sessionId: "s-1" };
    expect(check({ ended: ["s-1"] }, viaSession)).toEqual({
      code: 401,
      cause: "session",
      message: "kubeport: your login session has ended (signed out): run kubeport login",
    });
    expect(check({ ended: ["s-2"] }, viaSession)).toBeUndefined();
    expect(check({ ended: ["s-1"] }, alice)).toBeUndefined();
  });

  test.each([
    ["the user was removed", { users: [], removed: { alice: T0 } }, 401, "user", 'user "alice" was removed'],
    [
      "a deletion this cache saw without the record",
      { users: [], removed: { alice: "" } },
      401,
      "user",
      "removed",
    ],
    ["the user was re-created", { users: [user("alice", ["dev"], LATER)] }, 401, "user", "re-created"],
    [
      "the user's roles no longer reach the cluster",
      { users: [user("alice", ["prod"])] },
      403,
      "access",
      'no role of user "alice" allows cluster "dev-1"',
    ],
    [
      "a lock on the user",
      { locks: [lock({ user: "alice" })] },
      403,
      "lock",
      'lock targeting user "alice" is in force: go away',
    ],
    [
      "a lock on a role the user now holds",
      { users: [user("alice", ["dev", "ops"])], locks: [lock({ role: "ops" })] },
      403,
      "lock",
      'role "ops"',
    ],
    ["a lock on the cluster", { locks: [lock({ cluster: "dev-1" })] }, 403, "lock", 'cluster "dev-1"'],
    [
      "the cluster is no longer served",
      { clusters: [] },
      403,
      "access",
      'cluster "dev-1" is no longer served',
    ],
    [
      "the authorizer fails in an unexpected way (fail closed)",
      {
        authorizer: {
          authorize: () => {
            throw new TypeError("boom");
          },
          visibleClusters: () => [],
        },
      },
      403,
      "error",
      "could not be re-checked",
    ],
  ] as [string, World, number, string, string][])("%s → %i (%s)", (_what, world, code, cause, message) => {
    const r = check(world);
    expect(r).toMatchObject({ code, cause });
    expect(r!.message).toContain(message);
  });

  test("an expired token ends the stream only when disconnect_expired_credentials is on", () => {
    const expired = { ...alice, expiresAt: NOW - 1 };
    expect(check({}, expired)).toMatchObject({ code: 401, cause: "expired" });
    expect(check({ disconnectExpired: false }, expired)).toBeUndefined();
  });

  test("a user this cache has not seen yet is not taken for removed (its watch lags the authenticator's)", () => {
    expect(check({ users: [] })).toBeUndefined();
    // An older record of the name was removed; the token belongs to the newer one.
    expect(check({ users: [], removed: { alice: "2026-10-01T00:00:00Z" } })).toBeUndefined();
    // The cache still holds the older record the token's user replaced.
    expect(check({ users: [user("alice", ["dev"], "2026-10-01T00:00:00Z")] })).toBeUndefined();
  });

  test("OIDC identities and injected authenticators are not checked against user records", () => {
    const oidc: Identity = { user: "alice", roles: ["dev"], source: "oidc", issuer: "https://idp" };
    expect(check({ users: [], removed: { alice: T0 } }, oidc)).toBeUndefined();
    expect(check({ users: [], removed: { alice: T0 }, registryUsers: false })).toBeUndefined();
    // Locks still apply to both.
    expect(check({ locks: [lock({ user: "alice" })] }, oidc)).toMatchObject({ cause: "lock" });
  });
});

describe("the stream's own request under the roles' kubernetes_resources", () => {
  type Rule = { kind: string; namespace: string; name: string; verbs: string[] };
  const resRole = (allow: Rule[], deny: Rule[] = []): Role => ({
    kind: "role",
    version: "v1",
    metadata: { name: "dev" },
    spec: {
      allow: { kubernetes_labels: { env: "dev" }, kubernetes_groups: ["g"], kubernetes_resources: allow },
      ...(deny.length ? { deny: { kubernetes_resources: deny } } : {}),
    },
  });
  const pods: Rule = { kind: "pods", namespace: "*", name: "*", verbs: ["get", "list", "watch", "exec"] };
  const secretPods: Rule = { kind: "pods", namespace: "default", name: "secret-*", verbs: ["*"] };
  const configmaps: Rule = { kind: "configmaps", namespace: "*", name: "*", verbs: ["get"] };
  const exec = {
    ...requestInfo("GET", "/api/v1/namespaces/default/pods/web-0/exec", "?command=sh"),
    verb: "create",
  };
  const watch = requestInfo("GET", "/api/v1/namespaces/default/pods", "?watch=1");
  const logs = requestInfo("GET", "/api/v1/namespaces/default/pods/secret-db/log", "?follow=1");
  const dev = cluster("dev-1", "dev");
  /** The request as opened under `opened`, re-checked under `now`. */
  function recheck(opened: Role, now: Role, info = watch) {
    const request: StreamRequest = streamRequest(
      createStaticAuthorizer([opened]).authorize(alice, dev),
      info,
      "alice",
    );
    return createAccessCheck({
      cache: {
        user: (n) => (n === "alice" ? user("alice", ["dev"]) : undefined),
        removedUser: () => undefined,
        cluster: (n) => (n === "dev-1" ? dev : undefined),
        locks: () => [],
        endedSession: () => false,
        signingKey: () => undefined,
        removedKey: () => false,
      },
      authorizer: createStaticAuthorizer([now]),
      registryUsers: true,
      disconnectExpired: true,
      clock: { now: () => NOW },
    })({ identity: alice, cluster: "dev-1", request });
  }

  test("exec: the verb taken away ends the session (403, the API server's words)", () => {
    const r = recheck(resRole([pods]), resRole([{ ...pods, verbs: ["get", "list", "watch"] }]), exec);
    expect(r).toMatchObject({ code: 403, cause: "access" });
    expect(r!.message).toContain('cannot exec resource "pods"');
    expect(recheck(resRole([pods]), resRole([pods, configmaps]), exec)).toBeUndefined();
  });
  test("logs -f: a deny on the pod's name ends it; one on other names does not", () => {
    const r = recheck(resRole([pods]), resRole([pods], [secretPods]), logs);
    expect(r).toMatchObject({ code: 403, cause: "access" });
    expect(r!.message).toContain("denies it: deny.kubernetes_resources[0]");
    expect(recheck(resRole([pods]), resRole([pods], [secretPods]), exec)).toBeUndefined();
  });
  test("a watch now refused whole ends with 403", () => {
    const all: Rule = { kind: "pods", namespace: "*", name: "*", verbs: ["*"] };
    expect(recheck(resRole([pods]), resRole([pods], [all]))).toMatchObject({ code: 403, cause: "access" });
  });
  test("a watch whose view changed (narrowed or widened) ends with 410, so the client lists again", () => {
    expect(recheck(resRole([pods]), resRole([pods], [secretPods]))).toMatchObject({
      code: 410,
      cause: "rules",
    });
    expect(recheck(resRole([pods], [secretPods]), resRole([pods]))).toMatchObject({ code: 410 });
  });
  test("an edit that changes nothing a watch may see leaves it (other kinds, rule order, exec verbs)", () => {
    const restricted = resRole([pods], [secretPods]);
    expect(
      recheck(restricted, resRole([configmaps, pods], [{ ...secretPods, kind: "configmaps" }, secretPods])),
    ).toBeUndefined();
    expect(recheck(resRole([pods]), resRole([{ ...pods, verbs: ["*"] }, configmaps]))).toBeUndefined();
    expect(recheck(restricted, restricted)).toBeUndefined();
  });
});
