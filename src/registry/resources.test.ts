import { describe, expect, test } from "bun:test";
import { isKind } from "../lib/errors.ts";
import { validateResource } from "./resources.ts";

const now = new Date().toISOString();
const valid: Record<string, unknown> = {
  kube_cluster: {
    kind: "kube_cluster",
    version: "v1",
    metadata: { name: "Prod_EKS-1", labels: { "teleport.dev/origin": "cloud" } },
    spec: {
      endpoint: "https://abc.gr7.us-east-1.eks.amazonaws.com",
      aws: { region: "us-east-1", account_id: "111111111111", name: "Prod_EKS-1" },
      auth: "eks",
    },
  },
  token: {
    kind: "token",
    version: "v1",
    metadata: { name: "0a1b2c3d", expires: now },
    spec: { roles: ["discovery", "proxy"], hash: "a".repeat(64) },
  },
  instance: {
    kind: "instance",
    version: "v1",
    metadata: { name: "node-1" },
    spec: { hostname: "h", version: "0.1.0", services: [], started: now, last_seen: now },
  },
  role: {
    kind: "role",
    version: "v1",
    metadata: { name: "dev" },
    spec: {
      allow: {
        kubernetes_labels: { env: ["dev", "^stag.*$"], "*": "*" },
        kubernetes_groups: ["system:masters"],
      },
      deny: {},
    },
  },
  user: {
    kind: "user",
    version: "v1",
    metadata: { name: "alice@example.com" },
    spec: { roles: ["dev"], created: now },
  },
  signing_key: {
    kind: "signing_key",
    version: "v1",
    metadata: { name: "key-1" },
    spec: {
      alg: "ES256",
      public_jwk: { kty: "EC" },
      private_jwk: { kty: "EC" },
      created: now,
      state: "active",
    },
  },
  discovery_status: {
    kind: "discovery_status",
    version: "v1",
    metadata: { name: "default" },
    spec: {
      discovery_group: "",
      holder: "n1",
      fence_token: 3,
      scopes: [{ matcher: 0, region: "us-east-1", last_poll: now, clusters: 2 }],
      counts: { created: 1, updated: 0, deleted: 0, unchanged: 1 },
      last_poll: now,
      duration_ms: 12,
    },
  },
  lock: {
    kind: "lock",
    version: "v1",
    metadata: { name: "6f1c0b7e-9d1a-4a7e-8a51-0c6b2f7d3e11", expires: now },
    spec: { target: { user: "alice@example.com", cluster: "prod" }, message: "incident 42", created: now },
  },
};

describe("validateResource", () => {
  test.each(Object.entries(valid))("accepts a valid %s and keeps every field", (_kind, r) => {
    expect(validateResource(structuredClone(r))).toEqual(r as never);
  });

  // biome-ignore lint/suspicious/noExplicitAny: test fixtures are patched freely into invalid shapes
  type Loose = any;
  const with_ = (kind: string, patch: (r: Loose) => void) => {
    const r = structuredClone(valid[kind]) as Loose;
    patch(r);
    return r;
  };
  const invalid: [string, unknown, RegExp][] = [
    ["not an object", "x", /must be an object/],
    ["an unknown kind", with_("role", (r) => (r.kind = "pod")), /kind: unknown kind "pod"/],
    [
      "a name starting with '-'",
      with_("role", (r) => (r.metadata.name = "-x")),
      /metadata\.name: may hold only/,
    ],
    [
      "a name with '..'",
      with_("role", (r) => (r.metadata.name = "a..b")),
      /metadata\.name: must not contain '\.\.'/,
    ],
    ["a user name with a space", with_("user", (r) => (r.metadata.name = "al ice")), /metadata\.name/],
    ["a bad label key", with_("role", (r) => (r.metadata.labels = { "a b": "c" })), /metadata\.labels/],
    [
      "a cluster without aws.region",
      with_("kube_cluster", (r) => delete r.spec.aws.region),
      /spec\.aws\.region/,
    ],
    ["an unknown auth", with_("kube_cluster", (r) => (r.spec.auth = "iam")), /spec\.auth/],
    [
      "a token without roles",
      with_("token", (r) => (r.spec.roles = [])),
      /spec\.roles: needs at least one role/,
    ],
    ["a token hash that is not sha256 hex", with_("token", (r) => (r.spec.hash = "xyz")), /spec\.hash/],
    [
      "a role label value that is a number",
      with_("role", (r) => (r.spec.allow.kubernetes_labels = { env: 1 })),
      /spec\.allow\.kubernetes_labels\.env/,
    ],
    ["a deny that is not an object", with_("role", (r) => (r.spec.deny = "all")), /spec\.deny/],
    ["a signing key in an unknown state", with_("signing_key", (r) => (r.spec.state = "new")), /spec\.state/],
    ["a status without counts", with_("discovery_status", (r) => delete r.spec.counts), /spec\.counts/],
    [
      "a lock that targets nobody",
      with_("lock", (r) => (r.spec.target = {})),
      /spec\.target: must name a user, a role or a cluster/,
    ],
    [
      "a lock on an empty user name",
      with_("lock", (r) => (r.spec.target = { user: "" })),
      /spec\.target\.user/,
    ],
    [
      "a lock message over 1024 characters",
      with_("lock", (r) => (r.spec.message = "x".repeat(1025))),
      /spec\.message: must be at most 1024/,
    ],
  ];
  test.each(invalid)("rejects %s with bad_parameter naming the field", (_what, r, message) => {
    let err: unknown;
    try {
      validateResource(r);
    } catch (e) {
      err = e;
    }
    expect(isKind(err, "bad_parameter")).toBe(true);
    expect((err as Error).message).toMatch(message);
  });
});
