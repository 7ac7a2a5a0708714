// AWS simulator, STS side: AssumeRole (trust, ExternalId, sessions) and presigned GetCallerIdentity (EKS bearer tokens).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EKSClient, ListClustersCommand } from "@aws-sdk/client-eks";
import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  STSClient,
  STSServiceException,
} from "@aws-sdk/client-sts";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { type AwsSim, startAwsSim } from "../../src/sim/aws/index.ts";

const ROLE = "arn:aws:iam::222222222222:role/discovery";
const OPEN_ROLE = "arn:aws:iam::222222222222:role/open";
const ADMIN = { accessKeyId: "AKIAADMIN00000000001", secretAccessKey: "admin-secret" };
const STRANGER = { accessKeyId: "AKIASTRANGER00000003", secretAccessKey: "stranger-secret" };
type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

let sim: AwsSim;
const sts = (credentials: Creds = ADMIN) =>
  new STSClient({ region: "us-east-1", endpoint: sim.url, credentials, maxAttempts: 1 });

beforeAll(async () => {
  sim = await startAwsSim({
    accounts: [
      {
        id: "111111111111",
        principals: [
          { arn: "arn:aws:iam::111111111111:user/admin", ...ADMIN },
          { arn: "arn:aws:iam::111111111111:user/stranger", ...STRANGER },
          {
            arn: "arn:aws:iam::111111111111:user/no-assume",
            accessKeyId: "AKIANOASSUME00000004",
            secretAccessKey: "s",
            deny: ["sts:AssumeRole"],
          },
        ],
      },
      {
        id: "222222222222",
        roles: [
          {
            arn: ROLE,
            externalId: "ext-123",
            trusted: ["arn:aws:iam::111111111111:user/admin"],
            deny: ["eks:CreateAccessEntry"],
          },
          { arn: OPEN_ROLE },
        ],
      },
    ],
    clusters: [{ name: "in-222", region: "us-east-1", account: "222222222222" }],
  });
});
afterAll(() => sim.close());

async function assume(roleArn = ROLE, externalId: string | undefined = "ext-123", creds: Creds = ADMIN) {
  return sts(creds).send(
    new AssumeRoleCommand({
      RoleArn: roleArn,
      RoleSessionName: "kubeport",
      ...(externalId ? { ExternalId: externalId } : {}),
    }),
  );
}

describe("GetCallerIdentity", () => {
  test("names the long-term principal", async () => {
    const id = await sts().send(new GetCallerIdentityCommand({}));
    expect(id).toMatchObject({ Account: "111111111111", Arn: "arn:aws:iam::111111111111:user/admin" });
    expect(id.UserId).toStartWith("AIDA");
  });

  test("a wrong key is InvalidClientTokenId, a wrong secret SignatureDoesNotMatch", async () => {
    const a = await sts({ accessKeyId: "AKIAUNKNOWN000000000", secretAccessKey: "x" })
      .send(new GetCallerIdentityCommand({}))
      .catch((e) => e);
    expect(a).toBeInstanceOf(STSServiceException);
    expect([a.name, a.$metadata.httpStatusCode]).toEqual(["InvalidClientTokenId", 403]);
    const b = await sts({ ...ADMIN, secretAccessKey: "nope" })
      .send(new GetCallerIdentityCommand({}))
      .catch((e) => e);
    expect([b.name, b.$metadata.httpStatusCode]).toEqual(["SignatureDoesNotMatch", 403]);
  });
});

describe("AssumeRole", () => {
  test("with the right ExternalId returns ASIA credentials whose identity is the assumed role", async () => {
    const out = await assume();
    const c = out.Credentials;
    expect(c?.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(c?.Expiration).toBeInstanceOf(Date);
    expect((c?.Expiration?.getTime() ?? 0) - Date.now()).toBeGreaterThan(3500_000);
    expect(out.AssumedRoleUser?.Arn).toBe("arn:aws:sts::222222222222:assumed-role/discovery/kubeport");
    const session = {
      accessKeyId: c?.AccessKeyId as string,
      secretAccessKey: c?.SecretAccessKey as string,
      sessionToken: c?.SessionToken as string,
    };
    const id = await sts(session).send(new GetCallerIdentityCommand({}));
    expect(id).toMatchObject({
      Account: "222222222222",
      Arn: "arn:aws:sts::222222222222:assumed-role/discovery/kubeport",
    });
    expect(id.UserId).toMatch(/^AROA[0-9A-F]+:kubeport$/);
    // The session acts in the role's account.
    const eks = new EKSClient({
      region: "us-east-1",
      endpoint: sim.url,
      credentials: session,
      maxAttempts: 1,
    });
    expect((await eks.send(new ListClustersCommand({}))).clusters).toEqual(["in-222"]);
    // Without (or with a wrong) session token the temporary key is not accepted.
    const e = await sts({ ...session, sessionToken: "forged" })
      .send(new GetCallerIdentityCommand({}))
      .catch((x) => x);
    expect(e.name).toBe("InvalidClientTokenId");
  });

  const denied: [string, () => Promise<unknown>][] = [
    ["a missing ExternalId", () => assume(ROLE, "")],
    ["a wrong ExternalId", () => assume(ROLE, "ext-999")],
    ["an untrusted caller", () => assume(ROLE, "ext-123", STRANGER)],
    ["an unknown role", () => assume("arn:aws:iam::222222222222:role/ghost", undefined)],
    [
      "a caller denied sts:AssumeRole",
      () => assume(OPEN_ROLE, undefined, { accessKeyId: "AKIANOASSUME00000004", secretAccessKey: "s" }),
    ],
  ];
  test.each(denied)("refuses %s with AccessDenied", async (_, call) => {
    const e = (await call().catch((x) => x)) as STSServiceException;
    expect(e).toBeInstanceOf(STSServiceException);
    expect([e.name, e.$fault, e.$metadata.httpStatusCode]).toEqual(["AccessDenied", "client", 403]);
    expect(e.message).toMatch(
      /^User: arn:aws:iam::111111111111:user\/\S+ is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role\//,
    );
  });

  test("a role without ExternalId or trust list is open to every principal", async () => {
    expect((await assume(OPEN_ROLE, undefined, STRANGER)).AssumedRoleUser?.Arn).toBe(
      "arn:aws:sts::222222222222:assumed-role/open/kubeport",
    );
  });

  test("DurationSeconds outside 900..43200 is a ValidationError", async () => {
    const e = await sts()
      .send(new AssumeRoleCommand({ RoleArn: OPEN_ROLE, RoleSessionName: "x1", DurationSeconds: 60 }))
      .catch((x) => x);
    expect([e.name, e.$metadata.httpStatusCode]).toEqual(["ValidationError", 400]);
  });
});

/** Presigns GET /?Action=GetCallerIdentity the way EKS token generators do. */
async function presign(
  creds: Creds,
  opts: { clusterId?: string | null; expiresIn?: number; signingDate?: Date } = {},
): Promise<string> {
  const u = new URL(sim.url);
  const headers: Record<string, string> = { host: u.host };
  if (opts.clusterId !== null) headers["x-k8s-aws-id"] = opts.clusterId ?? "my-cluster";
  const signer = new SignatureV4({
    credentials: creds,
    region: "us-east-1",
    service: "sts",
    sha256: Hash.bind(null, "sha256"),
  });
  const req = new HttpRequest({
    method: "GET",
    protocol: "http:",
    hostname: u.hostname,
    port: Number(u.port),
    path: "/",
    query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
    headers,
  });
  const signed = await signer.presign(req, {
    expiresIn: opts.expiresIn ?? 60,
    ...(opts.signingDate ? { signingDate: opts.signingDate } : {}),
  });
  return `${sim.url}/?${new URLSearchParams(signed.query as Record<string, string>)}`;
}
const get = (url: string, clusterId: string | null = "my-cluster", accept = "application/json") =>
  fetch(url, { headers: { accept, ...(clusterId !== null ? { "x-k8s-aws-id": clusterId } : {}) } });

describe("presigned GetCallerIdentity (EKS bearer token)", () => {
  test("is accepted and answers JSON when asked", async () => {
    const res = await get(await presign(ADMIN));
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      GetCallerIdentityResponse: { GetCallerIdentityResult: Record<string, string> };
    };
    expect(body.GetCallerIdentityResponse.GetCallerIdentityResult).toMatchObject({
      Account: "111111111111",
      Arn: "arn:aws:iam::111111111111:user/admin",
    });
  });

  test("answers XML by default", async () => {
    const res = await get(await presign(ADMIN), "my-cluster", "*/*");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("<Arn>arn:aws:iam::111111111111:user/admin</Arn>");
  });

  test("works with AssumeRole session credentials (token in the query)", async () => {
    const c = (await assume()).Credentials;
    const url = await presign({
      accessKeyId: c?.AccessKeyId as string,
      secretAccessKey: c?.SecretAccessKey as string,
      sessionToken: c?.SessionToken as string,
    });
    expect(url).toContain("X-Amz-Security-Token=");
    const body = (await (await get(url)).json()) as {
      GetCallerIdentityResponse: { GetCallerIdentityResult: Record<string, string> };
    };
    expect(body.GetCallerIdentityResponse.GetCallerIdentityResult.Arn).toBe(
      "arn:aws:sts::222222222222:assumed-role/discovery/kubeport",
    );
  });

  const rejected: [string, () => Promise<Response>, string][] = [
    [
      "expired (signed 16 minutes ago)",
      async () => get(await presign(ADMIN, { signingDate: new Date(Date.now() - 16 * 60_000) })),
      "AccessDenied",
    ],
    [
      "tampered (query changed after signing)",
      async () => get((await presign(ADMIN)).replace("Version=2011-06-15", "Version=2011-06-16")),
      "SignatureDoesNotMatch",
    ],
    [
      "signed for another cluster id",
      async () => get(await presign(ADMIN, { clusterId: "other" })),
      "SignatureDoesNotMatch",
    ],
    [
      "without x-k8s-aws-id signed",
      async () => get(await presign(ADMIN, { clusterId: null })),
      "AccessDenied",
    ],
    ["with x-k8s-aws-id signed but not sent", async () => get(await presign(ADMIN), null), "AccessDenied"],
    [
      "with X-Amz-Expires over 900",
      async () => get(await presign(ADMIN, { expiresIn: 901 })),
      "AccessDenied",
    ],
    [
      "with a wrong secret",
      async () => get(await presign({ ...ADMIN, secretAccessKey: "bad" })),
      "SignatureDoesNotMatch",
    ],
  ];
  test.each(rejected)("rejects a URL %s", async (_, call, code) => {
    const res = await call();
    expect(res.status).toBe(403);
    const body = (await res.json()) as { Error: { Code: string; Type: string } };
    expect(body.Error).toMatchObject({ Code: code, Type: "Sender" });
  });

  test("errors are STS XML without Accept: application/json", async () => {
    const res = await get(
      (await presign(ADMIN)).replace("Version=2011-06-15", "Version=x"),
      "my-cluster",
      "*/*",
    );
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(
      /<ErrorResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/">\s*<Error>\s*<Type>Sender<\/Type>\s*<Code>SignatureDoesNotMatch<\/Code>/,
    );
  });
});
