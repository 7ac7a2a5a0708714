// Every refusal before someone is authenticated costs the client address (red team on issue 10):
// only 401s were charged, so a validly signed token whose name is refused (403) could be replayed
// without limit, each one verified (a signature check) and audited.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { type RawUpstream, startRawUpstream } from "../helpers/raw-upstream.ts";
import {
  cluster,
  startTestGateway,
  startTestIdp,
  type TestGateway,
  type TestIdp,
  testRoles,
} from "./fixture.ts";

let up: RawUpstream;
let gw: TestGateway;
let idp: TestIdp;

beforeAll(async () => {
  idp = await startTestIdp();
  up = await startRawUpstream();
  gw = await startTestGateway({
    realAuth: true,
    clusters: [cluster("dev-a", up.url, up.caPem, { env: "dev" })],
    resources: [...testRoles],
    proxyYaml: [
      // One token an hour after a burst of 5: the counts below are exact.
      "  limits:",
      "    unauthenticated_rate: { average: 1, period: 1h, burst: 5 }",
      "  oidc:",
      `    - issuer_url: ${idp.issuerUrl}`,
      "      audience: kubeport",
      '      username_prefix: "-"',
      "      username_claim: preferred_username",
      "      groups_to_roles: { engineers: [dev] }",
      "",
    ].join("\n"),
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  up?.close();
  idp?.stop();
});

test("a signed token whose name is refused (403) spends the address's budget like a bad token: then 429", async () => {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    iss: idp.issuerUrl,
    aud: "kubeport",
    sub: "x",
    iat: now,
    exp: now + 600,
    preferred_username: " system:kube-controller-manager",
    groups: ["engineers"],
  })
    .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
    .sign(idp.privateKey);
  const codes: number[] = [];
  for (let i = 0; i < 8; i++) {
    const res = await gw.fetch(`/v1/clusters/dev-a/api/v1/pods?i=${i}`, { token });
    await res.arrayBuffer();
    codes.push(res.status);
  }
  expect(codes).toEqual([403, 403, 403, 403, 403, 429, 429, 429]);
  expect(up.heads).toEqual([]);
  expect(await gw.metric("kubeport_gateway_limited_total", { limit: "address_rate" })).toBe(3);
});
