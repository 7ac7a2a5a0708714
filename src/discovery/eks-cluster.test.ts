import { expect, test } from "bun:test";
import { validateResource } from "../registry/index.ts";
import { toKubeCluster } from "./eks-cluster.ts";
import type { FoundCluster } from "./types.ts";

const c: FoundCluster = {
  account: "111111111111",
  region: "us-east-1",
  info: {
    name: "prod-a",
    arn: "arn:aws:eks:us-east-1:111111111111:cluster/prod-a",
    status: "ACTIVE",
    endpoint: "https://abc.gr7.us-east-1.eks.amazonaws.com",
    caData: "Q0E=",
    version: "1.31",
    tags: { env: "prod", "bad key with spaces": "x", "kubeport.dev/region": "spoofed" },
  },
};

test("labels: valid tags, cloud facts, origin, group, type; invalid tag keys dropped", () => {
  const r = toKubeCluster(c, "prod-a", "aws-prod");
  expect(r.metadata.labels).toEqual({
    env: "prod",
    "kubeport.dev/cloud": "AWS",
    "kubeport.dev/region": "us-east-1",
    "kubeport.dev/account-id": "111111111111",
    "kubeport.dev/arn": c.info.arn,
    "kubeport.dev/origin": "cloud",
    "kubeport.dev/discovery-group": "aws-prod",
    "kubeport.dev/discovery-type": "eks",
  });
  expect(r.spec).toEqual({
    aws: { region: "us-east-1", account_id: "111111111111", name: "prod-a", arn: c.info.arn },
    endpoint: c.info.endpoint!,
    ca_data: "Q0E=",
    kubernetes_version: "1.31",
    auth: "eks",
  });
  expect(() => validateResource(r)).not.toThrow();
});

test("a renamed cluster records its EKS name; the empty group writes no group label", () => {
  const r = toKubeCluster(c, "prod-a-us-east-1", "");
  expect(r.metadata.labels?.["kubeport.dev/eks-name"]).toBe("prod-a");
  expect(r.metadata.labels?.["kubeport.dev/discovery-group"]).toBeUndefined();
});
