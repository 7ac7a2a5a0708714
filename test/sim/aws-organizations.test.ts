// AWS simulator: organizations:ListAccounts for the real SDK client, accounts added at run time,
// and AssumeRole sessions expired on demand.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { EKSClient, ListClustersCommand } from "@aws-sdk/client-eks";
import {
  AccessDeniedException,
  AWSOrganizationsNotInUseException,
  ListAccountsCommand,
  OrganizationsClient,
  paginateListAccounts,
} from "@aws-sdk/client-organizations";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { type AwsSim, DEFAULT_PRINCIPAL, startAwsSim } from "../../src/sim/aws/index.ts";

const ADMIN = {
  accessKeyId: DEFAULT_PRINCIPAL.accessKeyId,
  secretAccessKey: DEFAULT_PRINCIPAL.secretAccessKey,
};
const MEMBER_KEYS = { accessKeyId: "AKIAMEMBER0000000001", secretAccessKey: "member-secret" };
const ROLE = "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole";

let sim: AwsSim;
const org = (credentials = ADMIN) =>
  new OrganizationsClient({ region: "us-east-1", endpoint: sim.url, credentials, maxAttempts: 1 });

beforeAll(async () => {
  sim = await startAwsSim({
    accounts: [
      { id: "111111111111", name: "management", principals: [DEFAULT_PRINCIPAL] },
      {
        id: "222222222222",
        name: "prod",
        roles: [{ arn: ROLE }],
        principals: [{ arn: "arn:aws:iam::222222222222:user/member", ...MEMBER_KEYS }],
      },
      { id: "333333333333", status: "SUSPENDED" },
    ],
    clusters: [{ name: "p", region: "us-east-1", account: "222222222222" }],
  });
});
afterAll(() => sim.close());

test("ListAccounts pages through every account of the organization, with names and status", async () => {
  const ids: string[] = [];
  const all: { Id?: string; Name?: string; Status?: string }[] = [];
  for await (const page of paginateListAccounts({ client: org(), pageSize: 2 }, {})) {
    ids.push(...(page.Accounts ?? []).map((a) => a.Id!));
    all.push(...(page.Accounts ?? []));
  }
  expect(ids).toEqual(["111111111111", "222222222222", "333333333333"]);
  expect(all[1]).toMatchObject({ Name: "prod", Status: "ACTIVE" });
  expect(all[2]).toMatchObject({ Status: "SUSPENDED" });
});

test("an account added at run time shows in the next ListAccounts", async () => {
  sim.state.addAccount({ id: "444444444444", name: "new" });
  const out = await org().send(new ListAccountsCommand({}));
  expect(out.Accounts?.map((a) => a.Id)).toContain("444444444444");
});

test("a member account is refused; a denied principal too", async () => {
  const e = await org(MEMBER_KEYS)
    .send(new ListAccountsCommand({}))
    .catch((x) => x);
  expect(e).toBeInstanceOf(AccessDeniedException);
  const id = sim.state.injectFault({ action: "organizations:ListAccounts", kind: "denied" });
  try {
    expect(
      await org()
        .send(new ListAccountsCommand({}))
        .catch((x) => x),
    ).toBeInstanceOf(AccessDeniedException);
  } finally {
    sim.state.removeFault(id);
  }
});

test("without an organization: AWSOrganizationsNotInUseException", async () => {
  const lone = await startAwsSim({ organization: false });
  try {
    const client = new OrganizationsClient({
      region: "us-east-1",
      endpoint: lone.url,
      credentials: ADMIN,
      maxAttempts: 1,
    });
    expect(await client.send(new ListAccountsCommand({})).catch((x) => x)).toBeInstanceOf(
      AWSOrganizationsNotInUseException,
    );
  } finally {
    await lone.close();
  }
});

test("expired sessions answer ExpiredTokenException", async () => {
  const sts = new STSClient({ region: "us-east-1", endpoint: sim.url, credentials: ADMIN, maxAttempts: 1 });
  const { Credentials: c } = await sts.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "tt" }));
  const eks = new EKSClient({
    region: "us-east-1",
    endpoint: sim.url,
    maxAttempts: 1,
    credentials: {
      accessKeyId: c!.AccessKeyId!,
      secretAccessKey: c!.SecretAccessKey!,
      sessionToken: c!.SessionToken!,
    },
  });
  expect((await eks.send(new ListClustersCommand({}))).clusters).toEqual(["p"]);
  expect(sim.state.expireSessions(ROLE)).toBe(1);
  const e = await eks.send(new ListClustersCommand({})).catch((x) => x);
  expect(e.name).toBe("ExpiredTokenException");
});
