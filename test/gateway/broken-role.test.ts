// A stored role that cannot be compiled never widens access (issue 10 §1). The role is written
// straight into the registry's storage, past validation, as an older kubeport stored it; the
// gateway runs with real authentication and the role authorizer; we assert what reached upstream.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Redis } from "ioredis";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { createRoleAuthorizer } from "../../src/gateway/authorize.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { openRedisBackend, type Resource } from "../../src/registry/index.ts";
import { kubectl, kubectlEnv } from "../helpers/kubectl.ts";
import { writeRawRedis, writeRawSqlite } from "../helpers/raw-registry.ts";
import { startRedisStandalone } from "../helpers/redis.ts";
import { cluster, startTestGateway, startUpstream, type TestGateway, type Upstream } from "./fixture.ts";

let upstream: Upstream;
let gw: TestGateway;
const tokens: Record<string, string> = {};
const cleanups: (() => void)[] = [];

const now = new Date().toISOString();
const user = (name: string, roles: string[]): Resource => ({
  kind: "user",
  version: "v1",
  metadata: { name },
  spec: { roles, created: now },
});

/** The issue's role: a deny list with one invalid pattern next to the valid "payments". */
const NO_PAYMENTS = {
  kind: "role",
  version: "v1",
  metadata: { name: "no-payments" },
  spec: { allow: {}, deny: { kubernetes_labels: { team: ["payments", "^(fin|pay$"] } } },
};
/** A deny that silently did nothing: `kubernetes_label` for `kubernetes_labels`. */
const TYPO = {
  kind: "role",
  version: "v1",
  metadata: { name: "typo-deny" },
  spec: { allow: {}, deny: { kubernetes_label: { team: "payments" } } },
};

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway({
    realAuth: true,
    clusters: [
      cluster("payments", upstream.url, upstream.caPem, { env: "prod", team: "payments" }),
      cluster("web", upstream.url, upstream.caPem, { env: "prod", team: "web" }),
    ],
    resources: [
      {
        kind: "role",
        version: "v1",
        metadata: { name: "prod" },
        spec: { allow: { kubernetes_labels: { env: "prod" }, kubernetes_groups: ["ops"] } },
      } as Resource,
      user("carol", ["prod", "no-payments"]),
      user("dave", ["prod", "typo-deny"]),
      user("erin", ["prod"]),
    ],
    // Written before the gateway starts, as a role stored by an older kubeport would be.
    beforeStart: (dir) => {
      writeRawSqlite(join(dir, "registry.db"), "role", "no-payments", JSON.stringify(NO_PAYMENTS));
      writeRawSqlite(join(dir, "registry.db"), "role", "typo-deny", JSON.stringify(TYPO));
    },
  });
  const issuer = kubeportIssuer({ public_addr: "localhost:3080" });
  for (const name of ["carol", "dave", "erin"])
    tokens[name] = await issueUserToken(gw.backend, { user: name, issuer });
}, 60_000);

afterAll(async () => {
  for (const c of cleanups) c();
  await gw?.close();
  await upstream?.close();
});

describe("a broken role fails closed", () => {
  test("the issue's deny list with one bad pattern: 403 naming the role, nothing upstream", async () => {
    const before = upstream.proxied().length;
    const res = await gw.fetch("/v1/clusters/payments/api/v1/namespaces/default/pods", {
      token: tokens.carol,
    });
    expect(res.status).toBe(403);
    const status = (await res.json()) as { message: string };
    expect(status.message).toContain(
      'role "no-payments" is broken, so it denies every cluster until it is fixed',
    );
    expect(status.message).toContain(
      'spec.deny.kubernetes_labels.team[1]: invalid regular expression "^(fin|pay$"',
    );
    // Every cluster, not only the one the deny named: its deny side cannot be read, so it denies all.
    expect(
      (await gw.fetch("/v1/clusters/web/api/v1/namespaces/default/pods", { token: tokens.carol })).status,
    ).toBe(403);
    expect(upstream.proxied().length).toBe(before);
  });

  test("a misspelled deny key: 403 naming the role and the key, nothing upstream", async () => {
    const before = upstream.proxied().length;
    const res = await gw.fetch("/v1/clusters/payments/api/v1/namespaces/default/pods", {
      token: tokens.dave,
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toMatch(
      /role "typo-deny" is broken.*spec\.deny\.kubernetes_label: unknown key; did you mean "kubernetes_labels"\?/,
    );
    expect(upstream.proxied().length).toBe(before);
  });

  test("real kubectl: refused with the broken role named, nothing upstream; a user without it gets through", async () => {
    const target = (token: string) => {
      const env = kubectlEnv({ server: gw.gateway.url, token, caPem: gw.gateway.caPem! });
      cleanups.push(env.cleanup);
      return env;
    };
    const pods = "/v1/clusters/payments/api/v1/namespaces/default/pods";
    const before = upstream.proxied().length;
    // `get --raw` prints the Status message as the gateway wrote it (`get pods` stops at discovery,
    // which client-go reports as "Forbidden: unknown").
    const refused = await kubectl(target(tokens.carol!), ["get", "--raw", pods]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'Error from server (Forbidden): role "no-payments" is broken, so it denies every cluster until it is fixed',
    );
    expect(upstream.proxied().length).toBe(before);

    const allowed = await kubectl(target(tokens.erin!), ["get", "--raw", pods]);
    expect(allowed.code).toBe(0);
    expect(upstream.proxied().length).toBe(before + 1);
    expect(upstream.proxied().at(-1)!.headers.get("impersonate-user")).toBe("erin");
  });

  test("fixing the role (a valid write) restores its meaning within a second", async () => {
    await gw.backend.put({
      ...NO_PAYMENTS,
      spec: { allow: {}, deny: { kubernetes_labels: { team: ["payments", "^(fin|pay)$"] } } },
    } as Resource);
    const deadline = Date.now() + 5000;
    let web = 0;
    while (Date.now() < deadline) {
      web = (await gw.fetch("/v1/clusters/web/version", { token: tokens.carol })).status;
      if (web === 200) break;
      await Bun.sleep(50);
    }
    expect(web).toBe(200);
    expect((await gw.fetch("/v1/clusters/payments/version", { token: tokens.carol })).status).toBe(403);
  });
});

describe("on the Redis registry (an HA pair's)", () => {
  test("a role written straight into Redis reaches the authorizer and denies its holders, named", async () => {
    const redis = await startRedisStandalone();
    const raw = new Redis(redis.url);
    const backend = openRedisBackend({ url: redis.url, key_prefix: "broken" });
    try {
      await backend.put({
        kind: "role",
        version: "v1",
        metadata: { name: "prod" },
        spec: { allow: { kubernetes_labels: { env: "prod" }, kubernetes_groups: ["ops"] } },
      } as Resource);
      await writeRawRedis(raw, "broken", "role", "no-payments", JSON.stringify(NO_PAYMENTS));
      // Not even JSON: a reader still hands it on under its name (skipping it would drop its denies).
      await writeRawRedis(raw, "broken", "role", "garbled", "{not json");
      expect((await backend.list("role")).map((r) => r.metadata.name).sort()).toEqual([
        "garbled",
        "no-payments",
        "prod",
      ]);
      const authz = await createRoleAuthorizer({ backend, log: silentLogger });
      try {
        const payments = cluster("payments", "https://127.0.0.1:1", "", { env: "prod", team: "payments" });
        const who = (roles: string[]) => ({
          user: "carol",
          roles,
          source: "kubeport" as const,
          issuer: "test",
        });
        expect(authz.authorize(who(["prod"]), payments).kubernetesGroups).toContain("ops");
        expect(() => authz.authorize(who(["prod", "no-payments"]), payments)).toThrow(
          /role "no-payments" is broken.*team\[1\]/,
        );
        expect(() => authz.authorize(who(["prod", "garbled"]), payments)).toThrow(/role "garbled" is broken/);
      } finally {
        authz.close();
      }
    } finally {
      await backend.close();
      raw.disconnect();
      await redis.stop();
    }
  }, 60_000);
});
