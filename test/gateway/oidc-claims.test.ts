// OIDC names and claims as the API server will read them (red team on issue 10): the exact bytes of
// every request head that reached the cluster are recorded by a raw TLS upstream, since Go's net/http
// strips the spaces around a header value (" system:masters" is read as "system:masters") and reads
// its bytes as UTF-8. Tokens come from real local issuers through the real authenticator and roles.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { type RawUpstream, startRawUpstream } from "../helpers/raw-upstream.ts";
import { rawWs, until } from "../helpers/ws-attack.ts";
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
/** username_prefix "-", username from preferred_username: the README's migration setting. */
let legacy: TestIdp;
/** Both prefixes off. */
let bare: TestIdp;

beforeAll(async () => {
  [corp, legacy, bare] = await Promise.all([startTestIdp(), startTestIdp(), startTestIdp()]);
  up = await startRawUpstream();
  const issuer = (idp: TestIdp, extra: string[] = []) => [
    `    - issuer_url: ${idp.issuerUrl}`,
    "      audience: kubeport",
    "      groups_to_roles: { engineers: [dev] }",
    ...extra.map((l) => `      ${l}`),
  ];
  gw = await startTestGateway({
    realAuth: true,
    clusters: [cluster("dev-a", up.url, up.caPem, { env: "dev" })],
    resources: [...testRoles],
    proxyYaml: [
      "  oidc:",
      ...issuer(corp),
      ...issuer(legacy, ["username_claim: preferred_username", 'username_prefix: "-"']),
      ...issuer(bare, ["username_claim: preferred_username", 'username_prefix: "-"', 'groups_prefix: "-"']),
      "",
    ].join("\n"),
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  up?.close();
  for (const idp of [corp, legacy, bare]) idp?.stop();
});

const signed = (idp: TestIdp, claims: Record<string, unknown>) => {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: idp.issuerUrl, aud: "kubeport", sub: "u-1", iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
    .sign(idp.privateKey);
};

let n = 0;
/** GETs pods with a unique marker; the status, the Status message, and the heads upstream saw for it. */
async function get(token: string) {
  const marker = `m${++n}x`;
  const res = await gw.fetch(`/v1/clusters/dev-a/api/v1/namespaces/default/pods?marker=${marker}`, { token });
  const body = await res.text();
  const message = res.headers.get("content-type")?.includes("json")
    ? String((JSON.parse(body) as { message?: string }).message)
    : body;
  return { status: res.status, message, heads: up.headsWith(`marker=${marker}`) };
}

describe("a name the API server would read as another is refused before anything goes upstream", () => {
  test.each([
    [
      "legacy",
      "preferred_username",
      { preferred_username: " system:kube-controller-manager", groups: ["engineers"] },
    ],
    ["legacy", "preferred_username", { preferred_username: "\tsystem:admin", groups: ["engineers"] }],
    ["legacy", "preferred_username", { preferred_username: "alice ", groups: ["engineers"] }],
    ["legacy", "preferred_username", { preferred_username: "\u00a0system:masters", groups: ["engineers"] }],
    ["legacy", "preferred_username", { preferred_username: "\u3000system:admin", groups: ["engineers"] }],
    ["legacy", "preferred_username", { preferred_username: "al\u00a0ice", groups: ["engineers"] }],
    ["legacy", "preferred_username", { preferred_username: "bob\u0085", groups: ["engineers"] }],
    ["legacy", "preferred_username", { preferred_username: "bad\ud800", groups: ["engineers"] }],
    ["bare", "groups", { preferred_username: "mallory", groups: ["engineers", " system:masters"] }],
    ["bare", "groups", { preferred_username: "mallory", groups: ["engineers", "system:masters\t"] }],
    ["corp", "groups", { email: "m@example.com", groups: ["engineers", "ops\n"] }],
  ] as const)("%s issuer, claim %s: %j → 403 naming the claim", async (which, claim, claims) => {
    const idp = { corp, legacy, bare }[which];
    const got = await get(await signed(idp, claims));
    expect(got.status).toBe(403);
    expect(got.message).toContain(`OIDC claim "${claim}"`);
    expect(got.heads).toEqual([]);
  });

  test("a plain space inside a name is kept (Active Directory's `Domain Users`)", async () => {
    const got = await get(
      await signed(bare, { preferred_username: "Ann Lee", groups: ["engineers", "Domain Users"] }),
    );
    expect(got.status).toBe(200);
    expect(got.heads[0]!.header("impersonate-user")).toEqual([" Ann Lee"]);
    expect(got.heads[0]!.header("impersonate-group")).toContain(" Domain Users");
  });
});

describe("claims are read as kube-apiserver reads them", () => {
  test.each([
    [
      "username claim as a list",
      legacyClaims({ preferred_username: [{ x: 1 }, "bob", "carol"] }),
      "not a string",
    ],
    ["username claim as a list of one", legacyClaims({ preferred_username: ["bob"] }), "not a string"],
    ["username claim as a number", legacyClaims({ preferred_username: 7 }), "not a string"],
    [
      "groups claim holding a non-string",
      legacyClaims({ preferred_username: "bob", groups: ["engineers", 1] }),
      "list of strings",
    ],
    [
      "groups claim as an object",
      legacyClaims({ preferred_username: "bob", groups: { engineers: true } }),
      "list of strings",
    ],
  ])("%s → 401", async (_name, claims, why) => {
    const got = await get(await signed(legacy, claims));
    expect(got.status).toBe(401);
    expect(got.message).toContain(why);
    expect(got.heads).toEqual([]);
  });

  test("username_claim email: email_verified false (or not a boolean) → 401; true or absent → the person", async () => {
    for (const verified of [false, "true", "yes", 1]) {
      const got = await get(
        await signed(corp, { email: "ceo@example.com", email_verified: verified, groups: ["engineers"] }),
      );
      expect({ verified, status: got.status }).toEqual({ verified, status: 401 });
      expect(got.message).toContain("email is not verified");
      expect(got.heads).toEqual([]);
    }
    for (const extra of [{ email_verified: true }, {}]) {
      const got = await get(
        await signed(corp, { email: "ann@example.com", groups: ["engineers"], ...extra }),
      );
      expect(got.status).toBe(200);
      expect(got.heads[0]!.header("impersonate-user")).toEqual([` ${corp.issuerUrl}#ann@example.com`]);
    }
  });

  test("email_verified is not looked at when the username is another claim", async () => {
    const got = await get(
      await signed(legacy, { preferred_username: "bob", email_verified: false, groups: ["engineers"] }),
    );
    expect(got.status).toBe(200);
  });
});

/** A preferred_username token's claims with the engineers group (the legacy issuer). */
function legacyClaims(claims: Record<string, unknown>): Record<string, unknown> {
  return { groups: ["engineers"], ...claims };
}

describe("non-ASCII names reach the cluster as UTF-8, as client-go sends them", () => {
  test.each(["josé@example.com", "李雷@example.com"])(
    "%s: Impersonate-User is the UTF-8 of the prefixed name (HTTP, one group)",
    async (email) => {
      const got = await get(await signed(corp, { email, groups: ["engineers"] }));
      expect(got.status).toBe(200);
      expect(got.heads[0]!.header("impersonate-user")).toEqual([` ${corp.issuerUrl}#${email}`]);
      expect(got.heads[0]!.header("impersonate-extra-kubeport-user")).toEqual([
        ` ${encodeURIComponent(`${corp.issuerUrl}#${email}`)}`,
      ]);
    },
  );

  test("several groups (sent one line each through node:https) keep their UTF-8", async () => {
    const got = await get(
      await signed(bare, { preferred_username: "zoë", groups: ["engineers", "équipe", "团队"] }),
    );
    expect(got.status).toBe(200);
    const head = got.heads[0]!;
    expect(head.header("impersonate-user")).toEqual([" zoë"]);
    expect(head.header("impersonate-group").map((g) => g.trim())).toEqual(
      expect.arrayContaining(["engineers", "équipe", "团队", "developers"]),
    );
  });

  test("a WebSocket exec's upstream handshake carries the same UTF-8 name", async () => {
    const token = await signed(bare, { preferred_username: "李雷", groups: ["engineers"] });
    const ws = await rawWs(
      gw.gateway.url,
      "/v1/clusters/dev-a/api/v1/namespaces/default/pods/web-0/exec?command=id&marker=wsx",
      {
        token,
        ca: gw.gateway.caPem!,
      },
    );
    ws.end();
    expect(await until(() => up.headsWith("marker=wsx").length > 0)).toBe(true);
    expect(up.headsWith("marker=wsx")[0]!.header("impersonate-user")).toEqual([" 李雷"]);
  });
});

describe("group names that are Object.prototype keys are ordinary names", () => {
  test.each(["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"])(
    "group %s maps to no role: 403, never a 500",
    async (group) => {
      const got = await get(await signed(corp, { email: "x@example.com", groups: [group] }));
      expect(got.status).toBe(403);
      expect(got.message).toContain("no known roles");
      expect(got.heads).toEqual([]);
    },
  );
});
