// Table tests for role evaluation: label matching, deny-wins, impersonated user and groups.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Gauge } from "prom-client";
import { writeRawSqlite } from "../../test/helpers/raw-registry.ts";
import { isKind } from "../lib/errors.ts";
import { silentLogger } from "../lib/log.ts";
import type { KubeCluster, Role, RoleSpec } from "../registry/index.ts";
import { openSqliteBackend } from "../registry/index.ts";
import { AUTHENTICATED_GROUP, createRoleAuthorizer, createStaticAuthorizer } from "./authorize.ts";
import type { Identity } from "./identity.ts";

const role = (name: string, spec: RoleSpec): Role => ({
  kind: "role",
  version: "v1",
  metadata: { name },
  spec,
});
const cluster = (name: string, labels: Record<string, string>): KubeCluster => ({
  kind: "kube_cluster",
  version: "v1",
  metadata: { name, labels },
  spec: { endpoint: `https://${name}.example` },
});
const who = (roles: string[], user = "alice"): Identity => ({
  user,
  roles,
  source: "kubeport",
  issuer: "kubeport",
});

const ROLES = [
  role("admin", { allow: { kubernetes_labels: { "*": "*" }, kubernetes_groups: ["system:masters"] } }),
  role("dev", {
    allow: {
      kubernetes_labels: { env: ["dev", "staging"] },
      kubernetes_groups: ["developers"],
      kubernetes_users: ["dev-user"],
    },
  }),
  role("prod-reader", {
    allow: { kubernetes_labels: { env: "prod", region: "^us-.*$" }, kubernetes_groups: ["viewers"] },
  }),
  role("no-prod", { allow: {}, deny: { kubernetes_labels: { env: "prod" } } }),
  role("no-masters", { allow: {}, deny: { kubernetes_groups: ["system:masters"] } }),
  role("glob", { allow: { kubernetes_labels: { team: "pay*" }, kubernetes_users: ["zed", "amy"] } }),
  role("labels-only", { allow: { kubernetes_labels: { env: "dev" } } }),
  role("empty-labels", { allow: { kubernetes_groups: ["g"] } }),
  role("deny-dev-user", { allow: {}, deny: { kubernetes_users: ["dev-user"] } }),
  role("broken", { allow: { kubernetes_labels: { env: "^(dev$" }, kubernetes_groups: ["g"] } }),
  // As stored before validation was strict (or written into the registry directly).
  role("no-payments", { allow: {}, deny: { kubernetes_labels: { team: ["payments", "^(fin|pay$"] } } }),
  role("typo", { allow: {}, deny: { kubernetes_label: { team: "payments" } } } as unknown as RoleSpec),
];

const DEV = cluster("dev-1", { env: "dev", region: "eu-west-1" });
const PROD_US = cluster("prod-us", { env: "prod", region: "us-east-1" });
const PROD_EU = cluster("prod-eu", { env: "prod", region: "eu-west-1" });
const PAY = cluster("pay-1", { team: "payments" });

describe("authorize", () => {
  const authz = createStaticAuthorizer(ROLES);
  const cases: {
    name: string;
    roles: string[];
    cluster: KubeCluster;
    users?: string[];
    groups?: string[];
    denied?: RegExp;
  }[] = [
    {
      name: "wildcard label reaches every cluster",
      roles: ["admin"],
      cluster: PROD_EU,
      users: ["alice"],
      groups: ["system:masters"],
    },
    {
      name: "list value matches any alternative",
      roles: ["dev"],
      cluster: DEV,
      users: ["dev-user"],
      groups: ["developers"],
    },
    {
      name: "non-matching label refuses",
      roles: ["dev"],
      cluster: PROD_US,
      denied: /no role of user "alice" allows cluster "prod-us"/,
    },
    {
      name: "regex value matches",
      roles: ["prod-reader"],
      cluster: PROD_US,
      users: ["alice"],
      groups: ["viewers"],
    },
    { name: "regex value refuses a non-match", roles: ["prod-reader"], cluster: PROD_EU, denied: /no role/ },
    {
      name: "glob value matches, several users sorted",
      roles: ["glob"],
      cluster: PAY,
      users: ["amy", "zed"],
      groups: [],
    },
    {
      name: "deny label wins over an allow",
      roles: ["admin", "no-prod"],
      cluster: PROD_US,
      denied: /role "no-prod" denies cluster "prod-us"/,
    },
    {
      name: "deny label does not touch other clusters",
      roles: ["admin", "no-prod"],
      cluster: DEV,
      groups: ["system:masters"],
    },
    {
      name: "deny group is removed; nothing left refuses",
      roles: ["admin", "no-masters"],
      cluster: DEV,
      denied: /grant no kubernetes groups or users/,
    },
    {
      name: "deny group removed, other grants stay",
      roles: ["dev", "no-masters", "admin"],
      cluster: DEV,
      users: ["dev-user"],
      groups: ["developers"],
    },
    {
      name: "deny user is removed; falls back to the kubeport user",
      roles: ["dev", "deny-dev-user"],
      cluster: DEV,
      users: ["alice"],
      groups: ["developers"],
    },
    {
      name: "labels without groups or users refuse",
      roles: ["labels-only"],
      cluster: DEV,
      denied: /grant no kubernetes groups or users/,
    },
    { name: "no allow labels reaches nothing", roles: ["empty-labels"], cluster: DEV, denied: /no role/ },
    {
      name: "union of allowing roles",
      roles: ["dev", "admin"],
      cluster: DEV,
      users: ["dev-user"],
      groups: ["developers", "system:masters"],
    },
    {
      name: "groups of non-matching roles are not granted",
      roles: ["dev", "prod-reader"],
      cluster: DEV,
      groups: ["developers"],
    },
    {
      name: "a role that does not exist refuses, named",
      roles: ["ghost"],
      cluster: DEV,
      denied: /role "ghost" of user "alice" does not exist, so it denies every cluster/,
    },
    {
      // A missing deny-only role must not widen access: the allowing role alone would reach DEV.
      name: "an unknown role beside an allowing one refuses every cluster",
      roles: ["dev", "no-dev-typo"],
      cluster: DEV,
      denied: /role "no-dev-typo" .* does not exist/,
    },
    { name: "no roles refuse", roles: [], cluster: DEV, denied: /has no known roles/ },
    {
      name: "a role with a broken regex grants nothing, and the refusal names it",
      roles: ["broken"],
      cluster: DEV,
      denied:
        /role "broken" is broken, so it denies every cluster until it is fixed .*spec\.allow\.kubernetes_labels\.env: invalid regular expression "\^\(dev\$"/,
    },
    {
      name: "a broken role denies every cluster even beside a role that allows it (fails closed)",
      roles: ["broken", "admin"],
      cluster: DEV,
      denied: /role "broken" is broken/,
    },
    {
      name: "the issue's deny list: one bad pattern beside a valid one denies everything, not nothing",
      roles: ["admin", "no-payments"],
      cluster: PAY,
      denied: /role "no-payments" is broken/,
    },
    {
      name: "a misspelled deny key is not a role that denies nothing",
      roles: ["admin", "typo"],
      cluster: PAY,
      denied:
        /role "typo" is broken.*spec\.deny\.kubernetes_label: unknown key; did you mean "kubernetes_labels"\?/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      if (c.denied) {
        let err: unknown;
        try {
          authz.authorize(who(c.roles), c.cluster);
        } catch (e) {
          err = e;
        }
        expect(isKind(err, "access_denied")).toBe(true);
        expect((err as Error).message).toMatch(c.denied);
        return;
      }
      const grant = authz.authorize(who(c.roles), c.cluster);
      if (c.users) expect(grant.kubernetesUsers).toEqual(c.users);
      if (c.groups) expect(grant.kubernetesGroups).toEqual([...c.groups, AUTHENTICATED_GROUP]);
    });
  }

  test("visibleClusters keeps reachable clusters in order", () => {
    const all = [DEV, PROD_US, PROD_EU, PAY];
    expect(authz.visibleClusters(who(["dev", "prod-reader"]), all).map((c) => c.metadata.name)).toEqual([
      "dev-1",
      "prod-us",
    ]);
    expect(authz.visibleClusters(who(["admin", "no-prod"]), all).map((c) => c.metadata.name)).toEqual([
      "dev-1",
      "pay-1",
    ]);
    expect(authz.visibleClusters(who([]), all)).toEqual([]);
  });

  test("grant names the roles that allowed the cluster", () => {
    expect(authz.authorize(who(["dev", "admin", "prod-reader"]), DEV).roles).toEqual(["dev", "admin"]);
  });
});

describe("createRoleAuthorizer", () => {
  test("follows role changes in the registry", async () => {
    const backend = openSqliteBackend({ path: ":memory:", pollMs: 20 });
    try {
      await backend.put(ROLES[1]!);
      const authz = await createRoleAuthorizer({ backend, log: silentLogger });
      expect(authz.authorize(who(["dev"]), DEV).kubernetesGroups).toEqual([
        "developers",
        AUTHENTICATED_GROUP,
      ]);
      await backend.put(
        role("dev", { allow: { kubernetes_labels: { env: "dev" }, kubernetes_groups: ["devs-v2"] } }),
      );
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && authz.authorize(who(["dev"]), DEV).kubernetesGroups[0] !== "devs-v2")
        await Bun.sleep(20);
      expect(authz.authorize(who(["dev"]), DEV).kubernetesGroups).toEqual(["devs-v2", AUTHENTICATED_GROUP]);
      await backend.delete("role", "dev");
      while (Date.now() < deadline && authz.visibleClusters(who(["dev"]), [DEV]).length > 0)
        await Bun.sleep(20);
      expect(() => authz.authorize(who(["dev"]), DEV)).toThrow(/role "dev" .* does not exist/);
      authz.close();
    } finally {
      await backend.close();
    }
  });
});

describe("createRoleAuthorizer and broken roles", () => {
  test("a broken role is logged at ERROR once per revision, counted in the gauge, and cleared when fixed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kp-broken-"));
    const path = join(dir, "registry.db");
    const backend = openSqliteBackend({ path, pollMs: 20 });
    const lines: { level: number; msg: string; role?: string; revision?: string }[] = [];
    const log = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const gauge = new Gauge({ name: "kubeport_roles_broken", help: "test", registers: [] });
    const errors = () => lines.filter((l) => l.level === 50);
    const until = async (what: string, ok: () => boolean) => {
      const deadline = Date.now() + 5000;
      while (!ok() && Date.now() < deadline) await Bun.sleep(20);
      if (!ok()) throw new Error(`timed out waiting for ${what}`);
    };
    const gaugeValue = async () => (await gauge.get()).values[0]?.value;
    try {
      await backend.put(ROLES[1]!);
      // Past validation, as a role stored by an older kubeport.
      const raw = (spec: unknown) =>
        JSON.stringify({ kind: "role", version: "v1", metadata: { name: "bad" }, spec });
      const rev1 = writeRawSqlite(
        path,
        "role",
        "bad",
        raw({ allow: {}, deny: { kubernetes_labels: { team: ["^(x$"] } } }),
      );
      const authz = await createRoleAuthorizer({ backend, log, brokenGauge: gauge });
      try {
        expect(errors()).toMatchObject([
          {
            msg: "role is broken: its holders are denied every cluster until it is fixed",
            role: "bad",
            revision: String(rev1),
          },
        ]);
        expect(await gaugeValue()).toBe(1);
        expect(() => authz.authorize(who(["dev", "bad"]), DEV)).toThrow(/role "bad" is broken/);
        // Requests and other roles' changes do not repeat the line.
        for (let i = 0; i < 50; i++) expect(() => authz.authorize(who(["bad"]), PROD_US)).toThrow(/broken/);
        await backend.put(role("other", { allow: { kubernetes_groups: ["g"] } }));
        await until(
          "the other role",
          () => authz.visibleClusters(who(["other"]), [DEV]).length === 0 && lines.length > 0,
        );
        await Bun.sleep(100);
        expect(errors()).toHaveLength(1);
        // A new revision, still broken: one more line.
        writeRawSqlite(path, "role", "bad", raw({ allw: {} }));
        await until("the second error line", () => errors().length === 2);
        expect(errors()[1]).toMatchObject({ role: "bad" });
        // Fixed through the registry: access as the role says, gauge back to 0.
        await backend.put(role("bad", { allow: {}, deny: { kubernetes_labels: { env: "prod" } } }));
        await until("the fix", () => {
          try {
            authz.authorize(who(["dev", "bad"]), DEV);
            return true;
          } catch {
            return false;
          }
        });
        expect(await gaugeValue()).toBe(0);
        expect(errors()).toHaveLength(2);
      } finally {
        authz.close();
      }
    } finally {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
