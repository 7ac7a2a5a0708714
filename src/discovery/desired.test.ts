import { describe, expect, test } from "bun:test";
import type { AwsMatcherConfig } from "../config/index.ts";
import type { KubeCluster, Resource } from "../registry/index.ts";
import type { CredentialSet } from "./credentials.ts";
import { type Built, buildDesired } from "./desired.ts";
import { createClusterMatcher } from "./matcher.ts";
import { reconcile } from "./reconcile.ts";
import { recordFetch, type ScopeState } from "./scopes.ts";
import type { FoundCluster, ScopeFetch } from "./types.ts";

const account = "111111111111";
const region = "us-east-1";
const creds = {
  key: "default",
  identity: async () => ({ account, arn: `arn:aws:iam::${account}:user/x` }),
  knownIdentity: () => ({ account, arn: `arn:aws:iam::${account}:user/x` }),
} as unknown as CredentialSet;
const found = (name: string, tags: Record<string, string> = {}): FoundCluster => ({
  account,
  region,
  info: {
    name,
    arn: `arn:aws:eks:${region}:${account}:cluster/${name}`,
    status: "ACTIVE",
    endpoint: `https://${name}.example`,
    caData: "Q0E=",
    tags,
  },
});
/** One scope whose last fetch listed and described `clusters`. */
const scope = (clusters: FoundCluster[]): ScopeState => {
  const st: ScopeState = {
    scope: {
      key: `default@${region}`,
      creds,
      region,
      matchers: [
        { index: 0, source: "config", config: {} as AwsMatcherConfig, select: createClusterMatcher({}) },
      ],
    },
    found: 0,
    failures: 0,
    throttled: 0,
    running: false,
  };
  const fetch: ScopeFetch = {
    region,
    account,
    listed: clusters.map((c) => c.info.name),
    clusters,
    describeFailed: [],
  };
  recordFetch(st, fetch, 0, 1);
  return st;
};

/** A reconcile as the service runs it: buildDesired over the registry, then the writes applied to `registry` as the writer reports them. */
const round = (states: ScopeState[], registry: Map<string, Resource>, built: Built) => {
  const current = [...registry.values()];
  const d = buildDesired({
    states,
    complete: true,
    current,
    group: "g",
    reuse: { built, byName: registry },
  });
  const plan = reconcile({ current, desired: d.desired, group: "g", keep: d.keep });
  for (const r of [...plan.create, ...plan.update])
    registry.set(r.metadata.name, {
      ...r,
      metadata: { ...r.metadata, revision: String(Number(r.metadata.revision ?? 0) + 1) },
    });
  for (const name of plan.delete) registry.delete(name);
  return { desired: d.desired, plan };
};

describe("buildDesired reuses what it built from the same cluster objects", () => {
  test("a steady state builds, compares and copies nothing: the desired resources are the registered ones", () => {
    const built: Built = new WeakMap();
    const registry = new Map<string, Resource>();
    const clusters = [found("a"), found("b")];
    const first = round([scope(clusters)], registry, built);
    expect(first.plan.create.map((r) => r.metadata.name)).toEqual(["a", "b"]);

    // The scope fetched the same content again: the service keeps the earlier fetch's objects.
    const again = round([scope(clusters)], registry, built);
    expect(again.desired[0]).toBe(registry.get("a") as KubeCluster);
    expect(again.desired[1]).toBe(registry.get("b") as KubeCluster);
    expect(again.plan.same[0]).toBe(registry.get("a") as KubeCluster);
    expect(again.plan.unchanged).toBe(2);
    expect([...again.plan.create, ...again.plan.update, ...again.plan.delete]).toEqual([]);
  });

  test("a changed cluster in an otherwise unchanged scope is still applied", () => {
    const built: Built = new WeakMap();
    const registry = new Map<string, Resource>();
    round([scope([found("a"), found("b")])], registry, built);
    const a = registry.get("a");
    // A new fetch (new objects): b was retagged, a is as it was.
    const next = round([scope([found("a"), found("b", { env: "prod" })])], registry, built);
    expect(next.plan.update.map((r) => r.metadata.name)).toEqual(["b"]);
    expect(next.plan.unchanged).toBe(1);
    expect(registry.get("b")?.metadata.labels?.env).toBe("prod");
    expect(registry.get("a")).toBe(a);
  });

  test("a stored resource edited or deleted by someone else is built again and restored", () => {
    const built: Built = new WeakMap();
    const registry = new Map<string, Resource>();
    const clusters = [found("a"), found("b")];
    round([scope(clusters)], registry, built);
    const a = registry.get("a") as KubeCluster;
    // Someone else's write arrives through the watch as a parsed copy: same name, its own spec object.
    const edited = structuredClone(a);
    edited.metadata.labels = { ...edited.metadata.labels, "kubeport.dev/region": "elsewhere" };
    edited.metadata.revision = "7";
    registry.set("a", edited);
    registry.delete("b");
    const next = round([scope(clusters)], registry, built);
    expect(next.plan.update.map((r) => r.metadata.name)).toEqual(["a"]);
    expect(next.plan.create.map((r) => r.metadata.name)).toEqual(["b"]);
    expect(registry.get("a")?.metadata.labels?.["kubeport.dev/region"]).toBe(region);
  });

  test("a registry read (a new term's snapshot) is compared in full, not taken as built", () => {
    const built: Built = new WeakMap();
    const registry = new Map<string, Resource>();
    const clusters = [found("a")];
    round([scope(clusters)], registry, built);
    // An equal copy with the same spec content but not built here: compared, found equal, kept.
    const snapshot = new Map([...registry].map(([k, v]) => [k, structuredClone(v)]));
    const next = round([scope(clusters)], snapshot, built);
    expect(next.desired[0]).not.toBe(snapshot.get("a") as KubeCluster);
    expect(next.plan.unchanged).toBe(1);
    expect(next.plan.update).toEqual([]);
  });
});
