// AWS simulator: EKS access entries and policies with EKS semantics, accessEntryFor, and IAM deny/allow lists.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  AccessDeniedException,
  AssociateAccessPolicyCommand,
  CreateAccessEntryCommand,
  DeleteAccessEntryCommand,
  DescribeAccessEntryCommand,
  DescribeClusterCommand,
  DisassociateAccessPolicyCommand,
  EKSClient,
  InvalidParameterException,
  InvalidRequestException,
  ListAccessEntriesCommand,
  ListAssociatedAccessPoliciesCommand,
  ListClustersCommand,
  ListTagsForResourceCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  TagResourceCommand,
  UpdateAccessEntryCommand,
} from "@aws-sdk/client-eks";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { ADMIN_POLICY, type AwsSim, startAwsSim } from "../../src/sim/aws/index.ts";

const ADMIN = { accessKeyId: "AKIAADMIN00000000001", secretAccessKey: "admin-secret" };
const ADMIN_ARN = "arn:aws:iam::111111111111:user/admin";
const READER = { accessKeyId: "AKIAREADER0000000002", secretAccessKey: "reader-secret" };
const NARROW = { accessKeyId: "AKIANARROW0000000003", secretAccessKey: "narrow-secret" };
const ROLE = "arn:aws:iam::111111111111:role/kubeport-discovery";
const VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";

let sim: AwsSim;
let clusterArn: string;
const eks = (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = ADMIN) =>
  new EKSClient({ region: "us-east-1", endpoint: sim.url, credentials, maxAttempts: 1 });

beforeAll(async () => {
  sim = await startAwsSim({
    accounts: [
      {
        id: "111111111111",
        principals: [
          { arn: ADMIN_ARN, ...ADMIN },
          {
            arn: "arn:aws:iam::111111111111:user/reader",
            ...READER,
            deny: ["eks:CreateAccessEntry", "eks:*AccessPolicy"],
          },
          { arn: "arn:aws:iam::111111111111:user/narrow", ...NARROW, allow: ["eks:List*"] },
        ],
        roles: [{ arn: ROLE, deny: ["eks:DescribeCluster"] }],
      },
    ],
    clusters: [
      { name: "api", region: "us-east-1" },
      { name: "legacy", region: "us-east-1", authenticationMode: "CONFIG_MAP" },
      {
        name: "seeded",
        region: "us-east-1",
        creatorAdmin: false,
        accessEntries: [{ principalArn: ROLE, kubernetesGroups: ["system:masters"] }],
      },
    ],
  });
  clusterArn = "arn:aws:eks:us-east-1:111111111111:cluster/api";
});
afterAll(() => sim.close());

describe("access entries", () => {
  test("the cluster creator starts with an admin entry, as bootstrapClusterCreatorAdminPermissions does", async () => {
    expect((await eks().send(new ListAccessEntriesCommand({ clusterName: "api" }))).accessEntries).toEqual([
      ADMIN_ARN,
    ]);
    expect(sim.state.accessEntryFor(clusterArn, ADMIN_ARN)).toEqual({
      kubernetesGroups: [],
      username: ADMIN_ARN,
      policies: [ADMIN_POLICY],
    });
  });

  test("lifecycle: create, describe, update, associate, list, disassociate, delete", async () => {
    const created = await eks().send(
      new CreateAccessEntryCommand({
        clusterName: "api",
        principalArn: ROLE,
        kubernetesGroups: ["kubeport"],
        tags: { by: "test" },
      }),
    );
    const e = created.accessEntry;
    expect(e).toMatchObject({
      clusterName: "api",
      principalArn: ROLE,
      kubernetesGroups: ["kubeport"],
      type: "STANDARD",
      tags: { by: "test" },
    });
    expect(e?.username).toBe("arn:aws:sts::111111111111:assumed-role/kubeport-discovery/{{SessionName}}");
    expect(e?.accessEntryArn).toStartWith(
      "arn:aws:eks:us-east-1:111111111111:access-entry/api/role/111111111111/kubeport-discovery/",
    );
    expect(e?.createdAt).toBeInstanceOf(Date);

    const dup = await eks()
      .send(new CreateAccessEntryCommand({ clusterName: "api", principalArn: ROLE }))
      .catch((x) => x);
    expect(dup).toBeInstanceOf(ResourceInUseException);
    expect(dup.$metadata.httpStatusCode).toBe(409);

    await eks().send(
      new UpdateAccessEntryCommand({
        clusterName: "api",
        principalArn: ROLE,
        kubernetesGroups: ["kubeport", "viewers"],
      }),
    );
    expect(
      (await eks().send(new DescribeAccessEntryCommand({ clusterName: "api", principalArn: ROLE })))
        .accessEntry?.kubernetesGroups,
    ).toEqual(["kubeport", "viewers"]);

    const assoc = await eks().send(
      new AssociateAccessPolicyCommand({
        clusterName: "api",
        principalArn: ROLE,
        policyArn: VIEW_POLICY,
        accessScope: { type: "namespace", namespaces: ["default"] },
      }),
    );
    expect(assoc.associatedAccessPolicy).toMatchObject({
      policyArn: VIEW_POLICY,
      accessScope: { type: "namespace", namespaces: ["default"] },
    });
    expect(assoc.associatedAccessPolicy?.associatedAt).toBeInstanceOf(Date);
    const listed = await eks().send(
      new ListAssociatedAccessPoliciesCommand({ clusterName: "api", principalArn: ROLE }),
    );
    expect(listed.associatedAccessPolicies?.map((p) => p.policyArn)).toEqual([VIEW_POLICY]);
    expect(
      (
        await eks().send(
          new ListAccessEntriesCommand({ clusterName: "api", associatedPolicyArn: VIEW_POLICY }),
        )
      ).accessEntries,
    ).toEqual([ROLE]);

    // An assumed-role session of the role maps to the role's entry, with {{SessionName}} filled in.
    expect(
      sim.state.accessEntryFor(clusterArn, "arn:aws:sts::111111111111:assumed-role/kubeport-discovery/s1"),
    ).toEqual({
      kubernetesGroups: ["kubeport", "viewers"],
      username: "arn:aws:sts::111111111111:assumed-role/kubeport-discovery/s1",
      policies: [VIEW_POLICY],
    });

    // The access entry ARN is taggable.
    await eks().send(new TagResourceCommand({ resourceArn: e?.accessEntryArn, tags: { extra: "1" } }));
    expect(
      (await eks().send(new ListTagsForResourceCommand({ resourceArn: e?.accessEntryArn }))).tags,
    ).toEqual({ by: "test", extra: "1" });

    await eks().send(
      new DisassociateAccessPolicyCommand({ clusterName: "api", principalArn: ROLE, policyArn: VIEW_POLICY }),
    );
    expect(
      (await eks().send(new ListAssociatedAccessPoliciesCommand({ clusterName: "api", principalArn: ROLE })))
        .associatedAccessPolicies,
    ).toEqual([]);
    await eks().send(new DeleteAccessEntryCommand({ clusterName: "api", principalArn: ROLE }));
    const gone = await eks()
      .send(new DescribeAccessEntryCommand({ clusterName: "api", principalArn: ROLE }))
      .catch((x) => x);
    expect(gone).toBeInstanceOf(ResourceNotFoundException);
    expect(sim.state.accessEntryFor(clusterArn, ROLE)).toBeUndefined();
  });

  const invalid: [string, () => Promise<unknown>, new (...a: never[]) => Error][] = [
    [
      "on a CONFIG_MAP cluster",
      () => eks().send(new CreateAccessEntryCommand({ clusterName: "legacy", principalArn: ROLE })),
      InvalidRequestException,
    ],
    [
      "on a missing cluster",
      () => eks().send(new CreateAccessEntryCommand({ clusterName: "ghost", principalArn: ROLE })),
      ResourceNotFoundException,
    ],
    [
      "for a non-IAM principal",
      () =>
        eks().send(new CreateAccessEntryCommand({ clusterName: "api", principalArn: "arn:aws:s3:::bucket" })),
      InvalidParameterException,
    ],
    [
      "with a system: group",
      () =>
        eks().send(
          new CreateAccessEntryCommand({
            clusterName: "api",
            principalArn: ROLE,
            kubernetesGroups: ["system:masters"],
          }),
        ),
      InvalidParameterException,
    ],
    [
      "with an unknown policy",
      () =>
        eks().send(
          new AssociateAccessPolicyCommand({
            clusterName: "api",
            principalArn: ADMIN_ARN,
            policyArn: "arn:aws:eks::aws:cluster-access-policy/Nope",
            accessScope: { type: "cluster" },
          }),
        ),
      InvalidParameterException,
    ],
  ];
  test.each(invalid)("refuses an access entry call %s", async (_, call, type) => {
    expect(await call().catch((x) => x)).toBeInstanceOf(type);
  });

  test("seeded entries may carry system: groups, and CONFIG_MAP clusters have no entries", () => {
    expect(
      sim.state.accessEntryFor(
        "arn:aws:eks:us-east-1:111111111111:cluster/seeded",
        `${ROLE.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")}/x`,
      )?.kubernetesGroups,
    ).toEqual(["system:masters"]);
    expect(
      sim.state.accessEntryFor("arn:aws:eks:us-east-1:111111111111:cluster/seeded", ADMIN_ARN),
    ).toBeUndefined();
    expect(
      sim.state.accessEntryFor("arn:aws:eks:us-east-1:111111111111:cluster/legacy", ADMIN_ARN),
    ).toBeUndefined();
  });
});

describe("IAM deny and allow lists", () => {
  test("a denied action is AccessDeniedException naming the user, action and resource", async () => {
    const e = await eks(READER)
      .send(new CreateAccessEntryCommand({ clusterName: "api", principalArn: ROLE }))
      .catch((x) => x);
    expect(e).toBeInstanceOf(AccessDeniedException);
    expect(e.$metadata.httpStatusCode).toBe(403);
    expect(e.message).toBe(
      `User: arn:aws:iam::111111111111:user/reader is not authorized to perform: eks:CreateAccessEntry on resource: ${clusterArn}`,
    );
    const w = await eks(READER)
      .send(
        new AssociateAccessPolicyCommand({
          clusterName: "api",
          principalArn: ADMIN_ARN,
          policyArn: VIEW_POLICY,
          accessScope: { type: "cluster" },
        }),
      )
      .catch((x) => x);
    expect(w).toBeInstanceOf(AccessDeniedException);
    expect((await eks(READER).send(new DescribeClusterCommand({ name: "api" }))).cluster?.name).toBe("api");
  });

  test("an allow list permits only what it names", async () => {
    expect((await eks(NARROW).send(new ListClustersCommand({}))).clusters).toEqual([
      "api",
      "legacy",
      "seeded",
    ]);
    const e = await eks(NARROW)
      .send(new DescribeClusterCommand({ name: "api" }))
      .catch((x) => x);
    expect(e).toBeInstanceOf(AccessDeniedException);
    expect(e.message).toContain(
      "is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:us-east-1:111111111111:cluster/api",
    );
  });

  test("an assumed role carries the role's deny list", async () => {
    const sts = new STSClient({ region: "us-east-1", endpoint: sim.url, credentials: ADMIN, maxAttempts: 1 });
    const c = (await sts.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "s1" }))).Credentials;
    const session = eks({
      accessKeyId: c?.AccessKeyId as string,
      secretAccessKey: c?.SecretAccessKey as string,
      sessionToken: c?.SessionToken as string,
    });
    expect((await session.send(new ListClustersCommand({}))).clusters).toHaveLength(3);
    const e = await session.send(new DescribeClusterCommand({ name: "api" })).catch((x) => x);
    expect(e).toBeInstanceOf(AccessDeniedException);
    expect(e.message).toStartWith(
      "User: arn:aws:sts::111111111111:assumed-role/kubeport-discovery/s1 is not authorized to perform: eks:DescribeCluster",
    );
  });
});
