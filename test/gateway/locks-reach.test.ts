// Locks reach whom they name and everything they close (red team on issue 10): `ctl lock --user` with
// an OIDC person's username (as `ctl lock --help` documents it) locked nobody, since the gateway
// compared it with the prefixed name; and a locked person still read /v1/status/clusters.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import { runCliCaptured } from "../helpers/cli.ts";
import { type RawUpstream, startRawUpstream } from "../helpers/raw-upstream.ts";
import { until } from "../helpers/ws-attack.ts";
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
/** Default prefixes (`<issuer>#`), username from `email`. */
let corp: TestIdp;

const user = (name: string): Resource => ({
  kind: "user",
  version: "v1",
  metadata: { name },
  spec: { roles: ["dev"], created: new Date().toISOString() },
});

beforeAll(async () => {
  corp = await startTestIdp();
  up = await startRawUpstream((h) => h.line.includes("watch="));
  gw = await startTestGateway({
    realAuth: true,
    clusters: [
      cluster("dev-a", up.url, up.caPem, { env: "dev" }),
      cluster("dev-b", up.url, up.caPem, { env: "dev" }),
    ],
    resources: [...testRoles, user("eve"), user("ann")],
    proxyYaml: [
      "  oidc:",
      `    - issuer_url: ${corp.issuerUrl}`,
      "      audience: kubeport",
      "      groups_to_roles: { engineers: [dev] }",
      "",
    ].join("\n"),
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  up?.close();
  corp?.stop();
});

const oidcToken = (email: string) => {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: corp.issuerUrl,
    aud: "kubeport",
    sub: email,
    iat: now,
    exp: now + 600,
    email,
    groups: ["engineers"],
  })
    .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
    .sign(corp.privateKey);
};
const kubeportToken = (name: string) =>
  issueUserToken(gw.backend, { user: name, issuer: kubeportIssuer({ public_addr: "localhost:3080" }) });
const ctl = (...args: string[]) => runCliCaptured(["ctl", "-c", gw.configPath, ...args]);

/** Polls a GET until its status is `want` (the gateway follows the registry within ~150 ms). */
async function statusBecomes(path: string, token: string, want: number) {
  let last = 0;
  const ok = await until(async () => {
    const res = await gw.fetch(path, { token });
    await res.arrayBuffer();
    last = res.status;
    return last === want;
  });
  expect({ path, status: ok ? want : last }).toEqual({ path, status: want });
}

let n = 0;
const pods = () => `/v1/clusters/dev-a/api/v1/namespaces/default/pods?marker=L${++n}x`;

describe("ctl lock --user names an OIDC person", () => {
  test("by the username claim: new requests 403 with the lock's message, the open watch ends upstream", async () => {
    const token = await oidcToken("mallory@example.com");
    const watch = await gw.fetch("/v1/clusters/dev-a/api/v1/pods?watch=true&who=mallory", { token });
    expect(watch.status).toBe(200);
    const reader = watch.body!.getReader();
    await reader.read();
    const openBefore = up.open();

    const out = await ctl("lock", "--user", "mallory@example.com", "--message", "offboarded");
    expect(out.code).toBe(0);
    // ctl says whom it locks when NAME is not a kubeport user, with the names the clusters see.
    expect(out.stderr).toContain('no kubeport user "mallory@example.com"');
    expect(out.stderr).toContain(`"${corp.issuerUrl}#mallory@example.com"`);

    const path = pods();
    await statusBecomes(path, token, 403);
    const res = await gw.fetch(pods(), { token });
    expect(((await res.json()) as { message: string }).message).toContain(
      'lock targeting user "mallory@example.com" is in force: offboarded',
    );
    expect(up.headsWith(path)).toEqual([]);
    // The watch is closed where the API server sees it.
    expect(await until(() => up.open() === openBefore - 1)).toBe(true);
    void reader.cancel().catch(() => {});
    // Another person of the same issuer is not locked.
    expect((await gw.fetch(pods(), { token: await oidcToken("bob@example.com") })).status).toBe(200);
  }, 60_000);

  test("by the full name the cluster sees (issuer prefix included)", async () => {
    const token = await oidcToken("trent@example.com");
    expect((await gw.fetch(pods(), { token })).status).toBe(200);
    const out = await ctl("lock", "--user", `${corp.issuerUrl}#trent@example.com`);
    expect(out.code).toBe(0);
    await statusBecomes(pods(), token, 403);
  });

  test("a kubeport user's lock says nothing more on stderr", async () => {
    const out = await ctl("lock", "--user", "eve", "--cluster", "dev-b", "--ttl", "1s");
    expect([out.code, out.stderr]).toEqual([0, ""]);
  });
});

describe("/v1/status/clusters shows a locked person nothing a lock closes", () => {
  const names = async (token: string) => {
    const res = await gw.fetch("/v1/status/clusters", { token });
    expect(res.status).toBe(200);
    return ((await res.json()) as { name: string }[]).map((c) => c.name).sort();
  };

  test("a user lock empties the list; a cluster lock takes that cluster out", async () => {
    const eve = await kubeportToken("eve");
    const ann = await kubeportToken("ann");
    expect(await names(ann)).toEqual(["dev-a", "dev-b"]);
    expect((await ctl("lock", "--user", "eve")).code).toBe(0);
    await statusBecomes("/v1/clusters/dev-a/version", eve, 403);
    expect(await names(eve)).toEqual([]);
    expect((await ctl("lock", "--user", "ann", "--cluster", "dev-b")).code).toBe(0);
    await statusBecomes("/v1/clusters/dev-b/version", ann, 403);
    expect(await names(ann)).toEqual(["dev-a"]);
  });
});
