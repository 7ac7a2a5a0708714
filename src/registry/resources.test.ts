import { describe, expect, test } from "bun:test";
import { isKind } from "../lib/errors.ts";
import {
  internalKind,
  MAX_RESOURCE_BYTES,
  readStoredResource,
  resourceProblems,
  resourceWarnings,
  validateResource,
} from "./resources.ts";

// biome-ignore lint/suspicious/noExplicitAny: test fixtures are patched freely into invalid shapes
type Loose = any;

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

describe("strict schemas (the config file's style)", () => {
  const problemsOf = (r: unknown) => resourceProblems(r).map((p) => `${p.path}: ${p.message}`);

  test("misspelled keys are each named with a did-you-mean, all at once", () => {
    const r = {
      kind: "role",
      version: "v1",
      metadta: { name: "x" },
      spec: { allw: {}, deny: { kubernetes_label: { team: "payments" } } },
    };
    expect(problemsOf(r)).toEqual(
      expect.arrayContaining([
        'metadta: unknown key; did you mean "metadata"?',
        "metadata: is required",
        'spec.allw: unknown key; did you mean "allow"?',
        'spec.deny.kubernetes_label: unknown key; did you mean "kubernetes_labels"?',
      ]),
    );
  });

  test("an invalid pattern next to a valid one is named by its index and position", () => {
    const r = structuredClone(valid.role) as { spec: Record<string, unknown> };
    r.spec.deny = { kubernetes_labels: { team: ["payments", "^(fin|pay$"] } };
    expect(problemsOf(r)).toEqual([
      'spec.deny.kubernetes_labels.team[1]: invalid regular expression "^(fin|pay$": missing closing ) for the ( at position 2 (label patterns are RE2, as in Teleport)',
    ]);
    expect(() => validateResource(r)).toThrow(/spec\.deny\.kubernetes_labels\.team\[1\]/);
  });

  test.each([
    [
      "kube_cluster",
      (r: Loose) => (r.spec.endpont = "https://x"),
      'spec.endpont: unknown key; did you mean "endpoint"?',
    ],
    ["user", (r: Loose) => (r.spec.role = ["dev"]), 'spec.role: unknown key; did you mean "roles"?'],
    ["token", (r: Loose) => (r.spec.roless = ["kube"]), 'spec.roless: unknown key; did you mean "roles"?'],
    ["signing_key", (r: Loose) => (r.spec.stat = "active"), 'spec.stat: unknown key; did you mean "state"?'],
    ["role", (r: Loose) => (r.metadata.lables = {}), 'metadata.lables: unknown key; did you mean "labels"?'],
  ])("a %s with a misspelled key is refused", (kind, patch, message) => {
    const r = structuredClone(valid[kind]) as Loose;
    patch(r);
    expect(problemsOf(r)).toContain(message);
  });

  test("role option record_session (Teleport's shape): default off|best_effort|strict, every problem named", () => {
    const r = structuredClone(valid.role) as Loose;
    for (const mode of ["off", "best_effort", "strict"]) {
      r.spec.options = { record_session: { default: mode } };
      expect(problemsOf(r)).toEqual([]);
    }
    r.spec.options = { record_session: { default: "always" }, max_session_ttl: "8h" };
    expect(problemsOf(r)).toEqual([
      'spec.options.record_session.default: "always" is not one of: off, best_effort, strict',
    ]);
    r.spec.options = { record_sesion: { default: "strict" } };
    expect(problemsOf(r)).toEqual([
      'spec.options.record_sesion: unknown key; did you mean "record_session"?',
    ]);
    r.spec.options = { record_session: "strict" };
    expect(problemsOf(r)).toEqual([expect.stringMatching(/^spec\.options\.record_session: must be a map/)]);
    r.spec.options = { record_session: { defualt: "strict", ssh: "strict" } };
    expect(problemsOf(r)).toEqual([
      'spec.options.record_session.defualt: unknown key; did you mean "default"?',
      "spec.options.record_session.ssh: unknown key",
    ]);
  });

  test("a resource over 1 MiB is refused naming the limit", () => {
    const r = structuredClone(valid.kube_cluster) as Loose;
    r.spec.ca_data = "x".repeat(MAX_RESOURCE_BYTES);
    expect(() => validateResource(r)).toThrow(/at most 1048576 bytes \(1 MiB\)/);
  });

  test("a role whose patterns compile to too much is refused (the gateway's compile stays bounded)", () => {
    const r = structuredClone(valid.role) as Loose;
    r.spec.allow.kubernetes_labels = {
      env: Array.from({ length: 6 }, (_, i) => `^${i}${"[a-z]{1000}".repeat(9)}$`),
    };
    expect(problemsOf(r).join("\n")).toMatch(
      /spec\.allow\.kubernetes_labels\.env\[5\]: .*over 50000 RE2 instructions/,
    );
  });

  test("`^staging|prod$` is valid but warned about", () => {
    const r = structuredClone(valid.role) as Loose;
    r.spec.allow.kubernetes_labels = { env: ["^staging|prod$"] };
    expect(resourceProblems(r)).toEqual([]);
    expect(resourceWarnings(r)).toEqual([
      { path: "spec.allow.kubernetes_labels.env[0]", message: expect.stringMatching(/\| outside a group/) },
    ]);
  });
});

describe("reading stored records", () => {
  test("unknown keys a newer version wrote are ignored on read", () => {
    const r = structuredClone(valid.kube_cluster) as Loose;
    r.spec.future_field = 1;
    expect(() => validateResource(r)).toThrow(/future_field/);
    expect(readStoredResource(r, { kind: "kube_cluster", name: r.metadata.name })).toBe(r);
  });

  test("an invalid kube_cluster is refused (the reader skips it)", () => {
    const r = structuredClone(valid.kube_cluster) as Loose;
    r.spec.endpoint = "http://plain";
    expect(() => readStoredResource(r, { kind: "kube_cluster", name: "x" })).toThrow(/https/);
  });

  test("an invalid or unparsable role is handed on under its stored name, so the authorizer can fail closed", () => {
    const bad = { kind: "role", version: "v1", metadata: { name: "r" }, spec: { allw: {} } };
    expect(readStoredResource(bad, { kind: "role", name: "r" })).toMatchObject({
      kind: "role",
      spec: { allw: {} },
    });
    expect(readStoredResource(undefined, { kind: "role", name: "broken" })).toEqual({
      kind: "role",
      version: "v1",
      metadata: { name: "broken" },
      spec: undefined,
    } as never);
  });
});

describe("internal kinds", () => {
  test.each(["instance", "signing_key", "discovery_status"] as const)(
    "%s is written by kubeport only",
    (kind) => {
      expect(internalKind(kind)).toBeString();
    },
  );
  test.each(["kube_cluster", "role", "user", "token"] as const)("%s can be created by people", (kind) => {
    expect(internalKind(kind)).toBeUndefined();
  });
});
