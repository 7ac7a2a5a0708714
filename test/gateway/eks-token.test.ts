// EKS tokens: shape as aws-iam-authenticator expects, verified by the simulated STS, cached and renewed.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { EKS_TOKEN_PREFIX, eksCredentials, makeEksToken } from "../../src/gateway/index.ts";
import type { KubeCluster } from "../../src/registry/index.ts";
import { type AwsSim, DEFAULT_PRINCIPAL, startAwsSim } from "../../src/sim/index.ts";

let aws: AwsSim;
beforeAll(async () => {
  aws = await startAwsSim();
});
afterAll(() => aws?.close());

const creds = {
  accessKeyId: DEFAULT_PRINCIPAL.accessKeyId,
  secretAccessKey: DEFAULT_PRINCIPAL.secretAccessKey,
};
const decode = (token: string) =>
  new URL(Buffer.from(token.slice(EKS_TOKEN_PREFIX.length), "base64url").toString());
const cluster = (name: string, region = "eu-west-1"): KubeCluster => ({
  kind: "kube_cluster",
  version: "v1",
  metadata: { name: `${name}-x` },
  spec: { endpoint: "https://x", auth: "eks", aws: { region, account_id: "111111111111", name } },
});

test("a token is k8s-aws-v1. + unpadded base64url of a presigned GetCallerIdentity signing x-k8s-aws-id", async () => {
  const token = await makeEksToken({ region: "us-east-1", clusterName: "prod", credentials: creds });
  expect(token.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
  expect(token).not.toContain("=");
  expect(token.length).toBeLessThanOrEqual(4096);
  const url = decode(token);
  expect(url.origin).toBe("https://sts.us-east-1.amazonaws.com");
  expect(url.pathname).toBe("/");
  expect(url.searchParams.get("Action")).toBe("GetCallerIdentity");
  expect(url.searchParams.get("Version")).toBe("2011-06-15");
  expect(url.searchParams.get("X-Amz-Expires")).toBe("60");
  expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("host;x-k8s-aws-id");
  expect(url.searchParams.get("X-Amz-Credential")).toContain("/us-east-1/sts/aws4_request");
});

test("the simulated STS accepts the presigned URL for the right cluster only", async () => {
  const token = await makeEksToken({
    region: "us-east-1",
    clusterName: "prod",
    credentials: creds,
    stsEndpoint: aws.env.AWS_ENDPOINT_URL_STS,
  });
  const url = decode(token);
  expect(`${url.protocol}//${url.host}`).toBe(new URL(aws.env.AWS_ENDPOINT_URL_STS!).origin);
  const ok = await fetch(url, { headers: { "x-k8s-aws-id": "prod", accept: "application/json" } });
  expect(ok.status).toBe(200);
  const body = (await ok.json()) as {
    GetCallerIdentityResponse: { GetCallerIdentityResult: { Arn: string } };
  };
  expect(body.GetCallerIdentityResponse.GetCallerIdentityResult.Arn).toBe(DEFAULT_PRINCIPAL.arn);
  const wrong = await fetch(url, { headers: { "x-k8s-aws-id": "other", accept: "application/json" } });
  expect(wrong.status).toBeGreaterThanOrEqual(400);
});

test("an STS endpoint override keeps its scheme, host, port and path", async () => {
  const token = await makeEksToken({
    region: "us-east-1",
    clusterName: "c",
    credentials: creds,
    stsEndpoint: "http://127.0.0.1:4566/sts/",
  });
  const url = decode(token);
  expect(url.href.startsWith("http://127.0.0.1:4566/sts/?")).toBe(true);
});

test("tokens are cached per (cluster, region) and renewed after their life", async () => {
  let now = Date.parse("2026-11-25T10:00:00Z");
  const c = eksCredentials({
    credentials: creds,
    stsEndpoint: "https://sts.example",
    tokenLifeMs: 60_000,
    clock: { now: () => now },
  });
  const a1 = await c.authorization(cluster("a"));
  expect(await c.authorization(cluster("a"))).toBe(a1!);
  const other = await c.authorization(cluster("a", "us-west-2"));
  expect(other).not.toBe(a1!);
  now += 59_000;
  expect(await c.authorization(cluster("a"))).toBe(a1!);
  now += 2_000;
  const a2 = await c.authorization(cluster("a"));
  expect(a2).not.toBe(a1!);
  expect(a2!.startsWith(`Bearer ${EKS_TOKEN_PREFIX}`)).toBe(true);
  expect(
    await c.authorization({ ...cluster("a"), spec: { endpoint: "https://x", auth: "none" } }),
  ).toBeUndefined();
});

test("current() hands over a settled token without waiting, and nothing once it is due for renewal", async () => {
  let now = Date.parse("2026-11-25T10:00:00Z");
  const c = eksCredentials({
    credentials: creds,
    stsEndpoint: "https://sts.example",
    tokenLifeMs: 60_000,
    clock: { now: () => now },
  });
  const a = cluster("a");
  // Nothing signed yet: the caller must wait for authorization().
  expect(c.current!(a)).toBeUndefined();
  const header = await c.authorization(a);
  expect(c.current!(a)).toBe(header!);
  // Another cluster object (the cluster cache replaced it) is asked afresh.
  expect(c.current!(cluster("a"))).toBeUndefined();
  now += 61_000;
  expect(c.current!(a)).toBeUndefined();
  const renewed = await c.authorization(a);
  expect(renewed).not.toBe(header!);
  expect(c.current!(a)).toBe(renewed!);
  expect(c.current!({ ...a, spec: { endpoint: "https://x", auth: "none" } })).toBeNull();
});
