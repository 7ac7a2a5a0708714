import { expect, test } from "bun:test";
import { toPrincipalArn } from "./access-entries.ts";
import { accountOfArn } from "./credentials.ts";
import { EKS_REGIONS, expandRegions } from "./regions.ts";

test.each([
  [
    "arn:aws:sts::111111111111:assumed-role/discovery/kubeport-discovery",
    "arn:aws:iam::111111111111:role/discovery",
  ],
  ["arn:aws-cn:sts::111111111111:assumed-role/r/s", "arn:aws-cn:iam::111111111111:role/r"],
  ["arn:aws:iam::111111111111:user/alice", "arn:aws:iam::111111111111:user/alice"],
  ["arn:aws:iam::111111111111:role/gw", "arn:aws:iam::111111111111:role/gw"],
])("access-entry principal of %s is %s", (caller, want) => {
  expect(toPrincipalArn(caller)).toBe(want);
});

test("account of an ARN", () => {
  expect(accountOfArn("arn:aws:iam::222222222222:role/x")).toBe("222222222222");
  expect(accountOfArn("nonsense")).toBeUndefined();
});

test('regions: "*" is every EKS region; duplicates dropped', () => {
  expect(expandRegions(["*"])).toEqual([...EKS_REGIONS]);
  expect(expandRegions(["us-east-1", "*"]).length).toBe(EKS_REGIONS.length);
  expect(expandRegions(["eu-west-1", "eu-west-1", "us-east-1"])).toEqual(["eu-west-1", "us-east-1"]);
});
