// AWS simulator, EKS side: the real @aws-sdk/client-eks over HTTP — pagination, regions, typed errors, SigV4.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  DescribeClusterCommand,
  EKSClient,
  EKSServiceException,
  InvalidParameterException,
  ListClustersCommand,
  ListTagsForResourceCommand,
  NotFoundException,
  paginateListClusters,
  ResourceNotFoundException,
  TagResourceCommand,
  UntagResourceCommand,
} from "@aws-sdk/client-eks";
import { type AwsSim, EKS_REGIONS, startAwsSim } from "../../src/sim/aws/index.ts";

let sim: AwsSim;
const creds = () => ({
  accessKeyId: sim.env.AWS_ACCESS_KEY_ID as string,
  secretAccessKey: sim.env.AWS_SECRET_ACCESS_KEY as string,
});
const eks = (region = "us-east-1", extra: Partial<ConstructorParameters<typeof EKSClient>[0]> = {}) =>
  new EKSClient({ region, endpoint: sim.url, credentials: creds(), maxAttempts: 1, ...extra });

beforeAll(async () => {
  const clusters = Array.from({ length: 25 }, (_, i) => ({
    name: `east-${String(i).padStart(2, "0")}`,
    region: "us-east-1",
    tags: { env: i % 2 ? "prod" : "dev" },
  }));
  sim = await startAwsSim({
    clusters: [
      ...clusters,
      { name: "west-a", region: "us-west-2", version: "1.30", authenticationMode: "CONFIG_MAP" },
      { name: "booting", region: "eu-west-1", status: "CREATING" },
      { name: "other", region: "us-east-1", account: "222222222222" },
    ],
    accounts: [
      {
        id: "111111111111",
        principals: [
          {
            arn: "arn:aws:iam::111111111111:user/admin",
            accessKeyId: "AKIAADMIN00000000001",
            secretAccessKey: "admin-secret",
          },
        ],
      },
      {
        id: "222222222222",
        principals: [
          {
            arn: "arn:aws:iam::222222222222:user/other",
            accessKeyId: "AKIAOTHER00000000002",
            secretAccessKey: "other-secret",
          },
        ],
      },
    ],
  });
});
afterAll(() => sim.close());

describe("ListClusters", () => {
  test("pages through a region in name order with maxResults and nextToken", async () => {
    const first = await eks().send(new ListClustersCommand({ maxResults: 10 }));
    expect(first.clusters).toEqual(
      Array.from({ length: 10 }, (_, i) => `east-${String(i).padStart(2, "0")}`),
    );
    expect(first.nextToken).toBeString();
    const names: string[] = [];
    for await (const page of paginateListClusters({ client: eks(), pageSize: 7 }, {}))
      names.push(...(page.clusters ?? []));
    expect(names).toHaveLength(25);
    expect(names).toEqual([...names].sort());
  });

  test("sees only the signing region and the caller's account", async () => {
    expect((await eks("us-west-2").send(new ListClustersCommand({}))).clusters).toEqual(["west-a"]);
    expect((await eks("ap-south-1").send(new ListClustersCommand({}))).clusters).toEqual([]);
    const other = eks("us-east-1", {
      credentials: { accessKeyId: "AKIAOTHER00000000002", secretAccessKey: "other-secret" },
    });
    expect((await other.send(new ListClustersCommand({}))).clusters).toEqual(["other"]);
  });

  test.each([[0], [101]])("maxResults %p is an InvalidParameterException", async (n) => {
    const e = await eks()
      .send(new ListClustersCommand({ maxResults: n }))
      .catch((x) => x);
    expect(e).toBeInstanceOf(InvalidParameterException);
    expect(e.$metadata.httpStatusCode).toBe(400);
  });

  test("a garbage nextToken is an InvalidParameterException", async () => {
    expect(
      await eks()
        .send(new ListClustersCommand({ nextToken: "bm9wZQ" }))
        .catch((x) => x),
    ).toBeInstanceOf(InvalidParameterException);
  });
});

describe("DescribeCluster", () => {
  test("returns the EKS cluster shape", async () => {
    const { cluster } = await eks("us-west-2").send(new DescribeClusterCommand({ name: "west-a" }));
    expect(cluster?.arn).toBe("arn:aws:eks:us-west-2:111111111111:cluster/west-a");
    expect(cluster?.version).toBe("1.30");
    expect(cluster?.status).toBe("ACTIVE");
    expect(cluster?.createdAt).toBeInstanceOf(Date);
    expect(cluster?.endpoint).toMatch(/^https:\/\/[0-9A-F]{32}\.gr7\.us-west-2\.eks\.amazonaws\.com$/);
    expect(Buffer.from(cluster?.certificateAuthority?.data ?? "", "base64").toString()).toStartWith(
      "-----BEGIN CERTIFICATE-----",
    );
    expect(cluster?.accessConfig?.authenticationMode).toBe("CONFIG_MAP");
  });

  test("a CREATING cluster has no endpoint or CA yet", async () => {
    const { cluster } = await eks("eu-west-1").send(new DescribeClusterCommand({ name: "booting" }));
    expect(cluster?.status).toBe("CREATING");
    expect(cluster?.endpoint).toBeUndefined();
  });

  test("a missing cluster is a ResourceNotFoundException (404)", async () => {
    const e = await eks()
      .send(new DescribeClusterCommand({ name: "nope" }))
      .catch((x) => x);
    expect(e).toBeInstanceOf(ResourceNotFoundException);
    expect(e.message).toBe("No cluster found for name: nope.");
    expect(e.$metadata.httpStatusCode).toBe(404);
  });

  test("state changes are visible at once", async () => {
    sim.state.setStatus("111111111111", "us-east-1", "east-00", "UPDATING");
    sim.state.tagCluster("111111111111", "us-east-1", "east-00", { team: "a" });
    sim.state.untagCluster("111111111111", "us-east-1", "east-00", ["env"]);
    const { cluster } = await eks().send(new DescribeClusterCommand({ name: "east-00" }));
    expect(cluster?.status).toBe("UPDATING");
    expect(cluster?.tags).toEqual({ team: "a" });
  });
});

describe("tags", () => {
  test("TagResource, ListTagsForResource and UntagResource on a cluster ARN", async () => {
    const arn = "arn:aws:eks:us-east-1:111111111111:cluster/east-05";
    await eks().send(new TagResourceCommand({ resourceArn: arn, tags: { owner: "me", tier: "1" } }));
    expect((await eks().send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags).toEqual({
      env: "prod",
      owner: "me",
      tier: "1",
    });
    await eks().send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ["owner", "env"] }));
    expect((await eks().send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags).toEqual({
      tier: "1",
    });
  });

  test("an unknown ARN is a NotFoundException", async () => {
    const e = await eks()
      .send(
        new ListTagsForResourceCommand({ resourceArn: "arn:aws:eks:us-east-1:111111111111:cluster/ghost" }),
      )
      .catch((x) => x);
    expect(e).toBeInstanceOf(NotFoundException);
  });
});

describe("SigV4", () => {
  const cases: [string, () => EKSClient, string][] = [
    [
      "a wrong secret",
      () =>
        eks("us-east-1", { credentials: { accessKeyId: "AKIAADMIN00000000001", secretAccessKey: "wrong" } }),
      "InvalidSignatureException",
    ],
    [
      "an unknown access key",
      () => eks("us-east-1", { credentials: { accessKeyId: "AKIANOBODY0000000000", secretAccessKey: "x" } }),
      "UnrecognizedClientException",
    ],
    [
      "a clock 20 minutes behind",
      () => eks("us-east-1", { systemClockOffset: -20 * 60_000 }),
      "InvalidSignatureException",
    ],
  ];
  test.each(cases)("rejects %s with 403", async (_, client, code) => {
    const e = await client()
      .send(new ListClustersCommand({}))
      .catch((x) => x);
    expect(e).toBeInstanceOf(EKSServiceException);
    expect(e.name).toBe(code);
    expect(e.$metadata.httpStatusCode).toBe(403);
  });

  test("the SDK corrects its clock from the server's Date and succeeds on retry", async () => {
    const out = await eks("us-east-1", { systemClockOffset: -20 * 60_000, maxAttempts: 2 }).send(
      new ListClustersCommand({ maxResults: 1 }),
    );
    expect(out.clusters).toHaveLength(1);
  });

  test("an unsigned request is MissingAuthenticationTokenException", async () => {
    const res = await fetch(`${sim.url}/clusters`);
    expect(res.status).toBe(403);
    expect(res.headers.get("x-amzn-errortype")).toStartWith("MissingAuthenticationTokenException");
  });

  test("a signature for another path does not match", async () => {
    // Sign a request with the SDK, then replay its headers against another cluster's path.
    let headers: Record<string, string> = {};
    const c = eks();
    c.middlewareStack.add(
      (next) => async (args) => {
        headers = { ...((args.request as { headers: Record<string, string> }).headers ?? {}) };
        return next(args);
      },
      { step: "finalizeRequest", priority: "low" },
    );
    await c.send(new DescribeClusterCommand({ name: "east-01" }));
    expect((await fetch(`${sim.url}/clusters/east-01`, { headers })).status).toBe(200);
    const res = await fetch(`${sim.url}/clusters/east-02`, { headers });
    expect(res.status).toBe(403);
    expect(res.headers.get("x-amzn-errortype")).toStartWith("InvalidSignatureException");
  });
});

test("EKS_REGIONS lists the commercial EKS regions", () => {
  expect(EKS_REGIONS.length).toBeGreaterThanOrEqual(17);
  expect(EKS_REGIONS).toContain("us-east-1");
  expect(new Set(EKS_REGIONS).size).toBe(EKS_REGIONS.length);
});
