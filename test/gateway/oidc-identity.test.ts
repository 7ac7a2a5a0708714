// OIDC identities cannot pose as anyone (issue 10 §2), attack-shaped: tokens from real local issuers
// go through the real gateway (real authenticator and roles, EKS credentials) to a simulated EKS API
// server, which records whom it was asked to act as.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { eksCredentials } from "../../src/gateway/index.ts";
import type { Resource, Role } from "../../src/registry/index.ts";
import {
  startDevProdSim,
  startTestGateway,
  startTestIdp,
  type TestGateway,
  type TestIdp,
  testRoles,
} from "./fixture.ts";

let sims: Awaited<ReturnType<typeof startDevProdSim>>;
let gw: TestGateway;
/** Default prefixes. */
let corp: TestIdp;
/** A second issuer with default prefixes: the same names must not meet corp's. */
let partner: TestIdp;
/** Prefixing turned off ("-"), username from preferred_username: the old behaviour, kept on request. */
let legacy: TestIdp;
let kubeportAlice: string;

const noContractors: Role = {
  kind: "role",
  version: "v1",
  metadata: { name: "no-contractors" },
  spec: { allow: {}, deny: { kubernetes_groups: [] } },
};

beforeAll(async () => {
  [corp, partner, legacy] = await Promise.all([startTestIdp(), startTestIdp(), startTestIdp()]);
  noContractors.spec.deny!.kubernetes_groups = [`${corp.issuerUrl}#contractors`];
  sims = await startDevProdSim();
  const resources: Resource[] = [
    ...testRoles,
    noContractors,
    {
      kind: "user",
      version: "v1",
      metadata: { name: "alice" },
      spec: { roles: ["dev"], created: new Date().toISOString() },
    },
  ];
  const issuer = (idp: TestIdp, extra: string[] = []) => [
    `    - issuer_url: ${idp.issuerUrl}`,
    "      audience: kubeport",
    "      groups_to_roles: { engineers: [dev, no-contractors], sre: [admin] }",
    ...extra.map((l) => `      ${l}`),
  ];
  gw = await startTestGateway({
    realAuth: true,
    credentials: eksCredentials(),
    clusters: sims.clusters,
    resources,
    proxyYaml: [
      "  oidc:",
      ...issuer(corp),
      ...issuer(partner),
      ...issuer(legacy, ["username_claim: preferred_username", 'username_prefix: "-"', 'groups_prefix: "-"']),
      "",
    ].join("\n"),
  });
  kubeportAlice = await issueUserToken(gw.backend, {
    user: "alice",
    issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await sims?.close();
  for (const idp of [corp, partner, legacy]) idp?.stop();
});

const signed = (idp: TestIdp, claims: Record<string, unknown>) => {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: idp.issuerUrl, aud: "kubeport", sub: "u-1", iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
    .sign(idp.privateKey);
};

/** GET the dev cluster's pods with `token`, marked so the simulator's record can be found. */
async function listPods(token: string, marker: string) {
  const res = await gw.fetch(
    `/v1/clusters/dev-a/api/v1/namespaces/default/pods?labelSelector=m%3D${marker}`,
    {
      token,
    },
  );
  const body = (await res.json()) as { message?: string };
  const seen = sims.dev.requests().filter((q) => q.query.split("&").includes(`labelSelector=m%3D${marker}`));
  return { status: res.status, message: body.message, seen };
}

describe("system: names from a token are refused", () => {
  test("preferred_username system:kube-controller-manager (prefix off): 403 naming the claim, nothing upstream", async () => {
    const token = await signed(legacy, {
      preferred_username: "system:kube-controller-manager",
      groups: ["engineers"],
    });
    const got = await listPods(token, "kcm");
    expect(got.status).toBe(403);
    expect(got.message).toContain('OIDC claim "preferred_username" value "system:kube-controller-manager"');
    expect(got.seen).toEqual([]);
  });

  test("a system:masters group (prefix off): 403 naming the claim, nothing upstream", async () => {
    const token = await signed(legacy, {
      preferred_username: "mallory",
      groups: ["engineers", "system:masters"],
    });
    const got = await listPods(token, "masters");
    expect(got.status).toBe(403);
    expect(got.message).toContain('OIDC claim "groups" value "system:masters"');
    expect(got.seen).toEqual([]);
  });

  test("with the default prefix the same claims reach the cluster as harmless names", async () => {
    const token = await signed(corp, {
      email: "system:kube-controller-manager",
      groups: ["engineers", "system:masters"],
    });
    const got = await listPods(token, "kcm-prefixed");
    expect(got.status).toBe(200);
    expect(got.seen.map((q) => [q.user, q.groups])).toEqual([
      [
        `${corp.issuerUrl}#system:kube-controller-manager`,
        [
          "developers",
          `${corp.issuerUrl}#engineers`,
          `${corp.issuerUrl}#system:masters`,
          "system:authenticated",
        ],
      ],
    ]);
  });

  test("a role's own system:masters still reaches the cluster for an OIDC user", async () => {
    const token = await signed(corp, { email: "sam@example.com", groups: ["sre"] });
    const got = await listPods(token, "role-masters");
    expect(got.status).toBe(200);
    // The admin role grants kubernetes_users [admin] and groups [system:masters, ops].
    expect(got.seen.map((q) => [q.user, q.groups])).toEqual([
      ["admin", [`${corp.issuerUrl}#sre`, "ops", "system:masters", "system:authenticated"]],
    ]);
  });
});

describe("OIDC people are named apart", () => {
  test("OIDC alice is not kubeport's alice", async () => {
    const oidc = await listPods(await signed(corp, { email: "alice", groups: ["engineers"] }), "alice-oidc");
    const own = await listPods(kubeportAlice, "alice-own");
    expect([oidc.status, own.status]).toEqual([200, 200]);
    expect(own.seen.map((q) => q.user)).toEqual(["alice"]);
    expect(oidc.seen.map((q) => q.user)).toEqual([`${corp.issuerUrl}#alice`]);
  });

  test("two issuers' same email and group stay two people", async () => {
    const claims = { email: "dana@example.com", groups: ["engineers"] };
    const a = await listPods(await signed(corp, claims), "dana-corp");
    const b = await listPods(await signed(partner, claims), "dana-partner");
    expect(a.seen.map((q) => [q.user, q.groups])).toEqual([
      [
        `${corp.issuerUrl}#dana@example.com`,
        ["developers", `${corp.issuerUrl}#engineers`, "system:authenticated"],
      ],
    ]);
    expect(b.seen.map((q) => [q.user, q.groups])).toEqual([
      [
        `${partner.issuerUrl}#dana@example.com`,
        ["developers", `${partner.issuerUrl}#engineers`, "system:authenticated"],
      ],
    ]);
  });

  test('"-" keeps the old names (raw username and groups), and deny kubernetes_groups removes a token group', async () => {
    const legacyGot = await listPods(
      await signed(legacy, { preferred_username: "erin", groups: ["engineers"] }),
      "erin",
    );
    expect(legacyGot.seen.map((q) => [q.user, q.groups])).toEqual([
      ["erin", ["developers", "engineers", "system:authenticated"]],
    ]);
    const denied = await listPods(
      await signed(corp, { email: "carl@example.com", groups: ["engineers", "contractors"] }),
      "contractor",
    );
    expect(denied.seen.map((q) => q.groups)).toEqual([
      ["developers", `${corp.issuerUrl}#engineers`, "system:authenticated"],
    ]);
  });
});
