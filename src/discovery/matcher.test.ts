import { describe, expect, test } from "bun:test";
import type { LabelSelector } from "../lib/labels.ts";
import { createClusterMatcher } from "./matcher.ts";
import type { EksClusterInfo } from "./types.ts";

const info = (tags: Record<string, string>): EksClusterInfo => ({
  name: "c",
  arn: "arn:aws:eks:us-east-1:111111111111:cluster/c",
  status: "ACTIVE",
  tags,
});

describe("cluster matcher", () => {
  const cases: {
    name: string;
    sel: LabelSelector;
    tags: Record<string, string>;
    want: boolean;
    region?: string;
  }[] = [
    { name: "exact", sel: { env: "prod" }, tags: { env: "prod" }, want: true },
    { name: "exact is case-sensitive", sel: { env: "prod" }, tags: { env: "Prod" }, want: false },
    { name: "list is OR", sel: { env: ["dev", "prod"] }, tags: { env: "prod" }, want: true },
    { name: "keys are AND", sel: { env: "prod", team: "a" }, tags: { env: "prod" }, want: false },
    { name: "* = key present", sel: { env: "*" }, tags: { env: "" }, want: true },
    { name: "* needs the key", sel: { env: "*" }, tags: {}, want: false },
    { name: "regex anchored", sel: { env: "^pro.$" }, tags: { env: "prod" }, want: true },
    { name: "regex no match", sel: { env: "^pr$" }, tags: { env: "prod" }, want: false },
    { name: "glob", sel: { env: "pr*" }, tags: { env: "prod" }, want: true },
    { name: "glob ? is literal", sel: { env: "pro?" }, tags: { env: "prod" }, want: false },
    { name: "no match", sel: { env: "prod" }, tags: { team: "a" }, want: false },
    { name: "{*:*} matches all", sel: { "*": "*", env: "never" }, tags: {}, want: true },
    { name: "empty selector matches all", sel: {}, tags: {}, want: true },
    { name: "region label", sel: { "kubeport.dev/region": "us-*" }, tags: {}, want: true },
    {
      name: "derived label overrides a tag",
      sel: { "kubeport.dev/region": "fake" },
      tags: { "kubeport.dev/region": "fake" },
      want: false,
    },
    { name: "account label", sel: { "kubeport.dev/account-id": "111111111111" }, tags: {}, want: true },
  ];
  for (const c of cases) {
    test(c.name, () => {
      expect(createClusterMatcher(c.sel).matches(info(c.tags), "111111111111", c.region ?? "us-east-1")).toBe(
        c.want,
      );
    });
  }
});
