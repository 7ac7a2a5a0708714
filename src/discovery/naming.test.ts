import { describe, expect, test } from "bun:test";
import { assignNames, baseName } from "./naming.ts";
import type { FoundCluster } from "./types.ts";

const found = (
  name: string,
  region = "us-east-1",
  account = "111111111111",
  tags: Record<string, string> = {},
): FoundCluster => ({
  matcher: 0,
  account,
  region,
  info: { name, arn: `arn:aws:eks:${region}:${account}:cluster/${name}`, status: "ACTIVE", tags },
});
const namesOf = (cs: FoundCluster[]) => {
  const m = assignNames(cs);
  return cs.map((c) => m.get(c.info.arn));
};

describe("assignNames", () => {
  const cases: { name: string; clusters: FoundCluster[]; want: string[] }[] = [
    { name: "unique names stay as is", clusters: [found("a"), found("b", "eu-west-1")], want: ["a", "b"] },
    {
      name: "same name in two regions: both get the region",
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

  test("an invalid override tag is ignored", () => {
    expect(
      baseName(found("a", "us-east-1", "111111111111", { "kubeport.dev/kubernetes-name": "bad name!" })),
    ).toBe("a");
  });
});
