import { describe, expect, test } from "bun:test";
import { assignNames, baseName, overrideName } from "./naming.ts";
import type { FoundCluster } from "./types.ts";

const found = (
  name: string,
  region = "us-east-1",
  account = "111111111111",
  tags: Record<string, string> = {},
): FoundCluster => ({
  account,
  region,
  info: { name, arn: `arn:aws:eks:${region}:${account}:cluster/${name}`, status: "ACTIVE", tags },
});
const arn = (c: FoundCluster) => c.info.arn;

/** Names for `clusters` given what is registered: `registered` maps a cluster to its name. */
const namesOf = (cs: FoundCluster[], registered: [FoundCluster, string][] = [], others: string[] = []) => {
  const existing = new Map<string, string | null>(registered.map(([c, n]) => [n, arn(c)]));
  for (const n of others) existing.set(n, null);
  const m = assignNames({
    clusters: cs,
    registered: new Map(registered.map(([c, n]) => [arn(c), n])),
    existing,
  });
  return cs.map((c) => m.get(arn(c)));
};

describe("assignNames for newcomers", () => {
  const cases: { name: string; clusters: FoundCluster[]; want: string[] }[] = [
    { name: "unique names stay as is", clusters: [found("a"), found("b", "eu-west-1")], want: ["a", "b"] },
    {
      name: "same name in two regions at once: both get the region",
      clusters: [found("a", "us-east-1"), found("a", "eu-west-1")],
      want: ["a-us-east-1", "a-eu-west-1"],
    },
    {
      name: "same name and region in two accounts: region and account",
      clusters: [
        found("a", "us-east-1", "111111111111"),
        found("a", "us-east-1", "222222222222"),
        found("a", "eu-west-1"),
      ],
      want: ["a-us-east-1-111111111111", "a-us-east-1-222222222222", "a-eu-west-1"],
    },
    {
      name: "a suffixed name does not steal an existing cluster's name",
      clusters: [found("a", "us-east-1"), found("a", "eu-west-1"), found("a-us-east-1", "us-west-2")],
      want: ["a-us-east-1-111111111111", "a-eu-west-1", "a-us-east-1"],
    },
    {
      name: "override tag wins",
      clusters: [found("a", "us-east-1", "111111111111", { "kubeport.dev/kubernetes-name": "prod" })],
      want: ["prod"],
    },
    {
      name: "Teleport's override tags are honoured too",
      clusters: [
        found("a", "us-east-1", "111111111111", { TeleportKubernetesName: "tp-a" }),
        found("b", "us-east-1", "111111111111", { "teleport.dev/kubernetes-name": "tp-b" }),
      ],
      want: ["tp-a", "tp-b"],
    },
    {
      name: "override colliding with an EKS name is suffixed like any other",
      clusters: [
        found("a", "us-east-1", "111111111111", { "kubeport.dev/kubernetes-name": "b" }),
        found("b", "eu-west-1"),
      ],
      want: ["b-us-east-1", "b-eu-west-1"],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      expect(namesOf(c.clusters)).toEqual(c.want);
      expect(namesOf([...c.clusters].reverse())).toEqual([...c.want].reverse());
    });
  }

  test("kubeport's tag wins over Teleport's; an invalid override is ignored", () => {
    expect(overrideName({ TeleportKubernetesName: "t", "kubeport.dev/kubernetes-name": "k" })).toBe("k");
    expect(overrideName({ TeleportKubernetesName: "bad name!", "teleport.dev/kubernetes-name": "ok" })).toBe(
      "ok",
    );
    expect(
      baseName(found("a", "us-east-1", "111111111111", { "kubeport.dev/kubernetes-name": "bad name!" })),
    ).toBe("a");
  });
});

describe("assignNames keeps registered names", () => {
  const first = found("payments", "us-east-1");
  const second = found("payments", "eu-west-1");

  test("a registered cluster keeps its name; a newcomer with the same EKS name gets the suffix", () => {
    expect(namesOf([first, second], [[first, "payments"]])).toEqual(["payments", "payments-eu-west-1"]);
  });

  test("when the newcomer goes, nobody is renamed back", () => {
    expect(namesOf([first], [[first, "payments-us-east-1"]])).toEqual(["payments-us-east-1"]);
  });

  test("a name held by another owner is not suffixed around (the reconciler reports the conflict)", () => {
    expect(namesOf([found("x")], [], ["x"])).toEqual(["x"]);
  });

  test("a name held by this group's cluster of another ARN is", () => {
    const gone = found("x", "eu-west-1");
    expect(namesOf([found("x")], [[gone, "x"]])).toEqual(["x-us-east-1"]);
  });

  test("an override tag added later renames to a free name, not to a taken one", () => {
    const tagged = found("a", "us-east-1", "111111111111", { "kubeport.dev/kubernetes-name": "alpha" });
    expect(namesOf([tagged], [[tagged, "a"]])).toEqual(["alpha"]);
    expect(namesOf([tagged], [[tagged, "a"]], ["alpha"])).toEqual(["a"]);
  });
});
