import { describe, expect, test } from "bun:test";
import type { KubeCluster, Resource } from "../registry/index.ts";
import { isOwned, reconcile } from "./reconcile.ts";

const kc = (
  name: string,
  o: {
    group?: string;
    origin?: string;
    account?: string;
    region?: string;
    env?: string;
    rev?: string;
    arn?: string;
  } = {},
): KubeCluster => {
  const {
    group = "g",
    origin = "cloud",
    account = "111111111111",
    region = "us-east-1",
    env = "prod",
    rev,
    arn = `arn:aws:eks:${region}:${account}:cluster/${name}`,
  } = o;
  const labels: Record<string, string> = { env, "kubeport.dev/origin": origin };
  if (group !== "") labels["kubeport.dev/discovery-group"] = group;
  return {
    kind: "kube_cluster",
    version: "v1",
    metadata: { name, labels, ...(rev ? { revision: rev } : {}) },
    spec: {
      aws: { region, account_id: account, name, arn },
      endpoint: `https://${name}.example`,
      auth: "eks",
    },
  };
};
const names = (rs: readonly Resource[]) => rs.map((r) => r.metadata.name).sort();

describe("reconcile", () => {
  const cases: {
    name: string;
    current: Resource[];
    desired: KubeCluster[];
    group?: string;
    keep?: string[];
    create?: string[];
    update?: string[];
    del?: string[];
    conflicts?: string[];
    unchanged?: number;
  }[] = [
    { name: "creates what is missing", current: [], desired: [kc("a"), kc("b")], create: ["a", "b"] },
    {
      name: "a no-change poll plans nothing",
      current: [kc("a", { rev: "7" })],
      desired: [kc("a")],
      unchanged: 1,
    },
    {
      name: "a retag is an update",
      current: [kc("a", { rev: "7" })],
      desired: [kc("a", { env: "dev" })],
      update: ["a"],
    },
    {
      name: "deletes an owned cluster no longer desired",
      current: [kc("a"), kc("b")],
      desired: [kc("a")],
      del: ["b"],
      unchanged: 1,
    },
    {
      name: "never deletes another group's cluster",
      current: [kc("x", { group: "other" })],
      desired: [],
      del: [],
    },
    { name: "never deletes a non-cloud cluster", current: [kc("x", { origin: "static" })], desired: [] },
    {
      name: "empty group owns only ungrouped clusters",
      group: "",
      current: [kc("x", { group: "" }), kc("y", { group: "g" })],
      desired: [],
      del: ["x"],
    },
    { name: "a named group does not own ungrouped clusters", current: [kc("x", { group: "" })], desired: [] },
    {
      name: "takes over an ungrouped cloud cluster of the same name",
      current: [kc("a", { group: "", rev: "3" })],
      desired: [kc("a")],
      update: ["a"],
    },
    {
      name: "does not take over another group's cluster",
      current: [kc("a", { group: "other" })],
      desired: [kc("a")],
      conflicts: ["a"],
    },
    {
      name: "does not take over a static cluster",
      current: [kc("a", { origin: "static" })],
      desired: [kc("a")],
      conflicts: ["a"],
    },
    {
      name: "keeps what the desired-state builder could not decide",
      current: [kc("a", { region: "us-west-2" }), kc("b", { region: "us-east-1" })],
      desired: [],
      keep: ["a"],
      del: ["b"],
    },
    {
      name: "keep protects only owned resources' deletion, never another group's",
      current: [kc("x", { group: "other" })],
      desired: [],
      keep: ["x"],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const plan = reconcile({
        current: c.current,
        desired: c.desired,
        group: c.group ?? "g",
        keep: new Set(c.keep ?? []),
      });
      expect(names(plan.create)).toEqual(c.create ?? []);
      expect(names(plan.update)).toEqual(c.update ?? []);
      expect(plan.delete.sort()).toEqual(c.del ?? []);
      expect(plan.conflicts).toEqual(c.conflicts ?? []);
      expect(plan.unchanged).toBe(c.unchanged ?? 0);
    });
  }

  test("an update carries the current revision for compare-and-swap", () => {
    const plan = reconcile({
      current: [kc("a", { rev: "42" })],
      desired: [kc("a", { env: "dev" })],
      group: "g",
    });
    expect(plan.update[0]?.metadata.revision).toBe("42");
  });

  test("ownership follows origin and exact group", () => {
    expect(isOwned(kc("a", { group: "g" }), "g")).toBe(true);
    expect(isOwned(kc("a", { group: "G" }), "g")).toBe(false);
    expect(isOwned(kc("a", { group: "" }), "")).toBe(true);
    expect(isOwned(kc("a", { origin: "config" }), "g")).toBe(false);
  });
});
