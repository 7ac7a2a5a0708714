// AWS Organizations: an `organization` matcher lists the accounts (organizations:ListAccounts) and
// assumes role_name in each; new accounts are picked up at the next poll; a failed listing deletes nothing.
import { afterEach, expect, test } from "bun:test";
import { Registry } from "prom-client";
import type { DiscoveryStatus, KubeCluster } from "../../src/registry/index.ts";
import { DEFAULT_PRINCIPAL } from "../../src/sim/aws/index.ts";
import { type Harness, makeConfig, names, startHarness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ROLE_NAME = "OrganizationAccountAccessRole";
const member = (id: string) => ({
  id,
  roles: [{ arn: `arn:aws:iam::${id}:role/${ROLE_NAME}`, externalId: "org-ext" }],
});
const orgConfig = (org: Record<string, unknown> = {}) =>
  makeConfig({
    group: "org",
    matchers: [
      {
        regions: ["us-east-1"],
        tags: {},
        setup_access: false,
        organization: {
          role_name: ROLE_NAME,
          external_id: "org-ext",
          include_accounts: [],
          exclude_accounts: ["444444444444"],
          ...org,
        },
      },
    ],
  });
const start = () =>
  startHarness(
    {
      accounts: [
        { ...member("111111111111"), principals: [DEFAULT_PRINCIPAL] },
        member("222222222222"),
        member("333333333333"),
        member("444444444444"),
      ],
      clusters: ["1", "2", "3", "4"].map((d) => ({
        name: `c${d}`,
        region: "us-east-1",
        account: d.repeat(12),
      })),
    },
    orgConfig(),
  );

test("every account of the organization is discovered through role_name (exclude honoured); a new account is picked up at the next poll", async () => {
  h = await start();
  const s = h.service();
  const r = await s.pollOnce();
  expect(r.failedScopes).toEqual([]);
  expect(names(await h.clusters())).toEqual(["c1", "c2", "c3"]);
  const c2 = (await h.backend.get("kube_cluster", "c2")) as KubeCluster;
  expect(c2.spec.aws).toMatchObject({
    account_id: "222222222222",
    assume_role_arn: `arn:aws:iam::222222222222:role/${ROLE_NAME}`,
    external_id: "org-ext",
  });

  h.sim.state.addAccount(member("555555555555"));
  await h.sim.state.addCluster({ name: "c5", region: "us-east-1", account: "555555555555" });
  await s.pollOnce();
  expect(names(await h.clusters())).toEqual(["c1", "c2", "c3", "c5"]);
  const status = (await h.backend.get("discovery_status", "org")) as DiscoveryStatus;
  expect((status.spec as { organizations?: unknown[] }).organizations).toEqual([
    { matcher: 0, accounts: 5, last_list: expect.any(String) },
  ]);
}, 60_000);

test("include_accounts narrows the organization to the accounts listed", async () => {
  h = await start();
  await h.service({ config: orgConfig({ include_accounts: ["333333333333"] }) }).pollOnce();
  expect(names(await h.clusters())).toEqual(["c3"]);
}, 60_000);

test("AccessDenied on ListAccounts: the organization fails visibly, nothing is deleted, gauges keep the last good counts", async () => {
  h = await start();
  const metrics = new Registry();
  await h.service({ metrics }).pollOnce();
  expect(names(await h.clusters())).toEqual(["c1", "c2", "c3"]);
  h.sim.state.injectFault({ action: "organizations:ListAccounts", kind: "denied" });

  // A new leader that cannot list the accounts knows none of the organization's scopes: it keeps all.
  const fresh = h.service({ holder: "other", metrics });
  const r = await fresh.pollOnce();
  expect(r.deleted).toBe(0);
  expect(names(await h.clusters())).toEqual(["c1", "c2", "c3"]);
  const status = (await h.backend.get("discovery_status", "org")) as DiscoveryStatus;
  const org = (status.spec as { organizations?: { error?: string; accounts?: number }[] }).organizations?.[0];
  expect(org?.error).toContain("ListAccounts: AccessDeniedException");
  expect(org?.accounts).toBeUndefined();
  expect(await metrics.metrics()).toMatch(/^kubeport_discovery_clusters_found 3$/m);
}, 60_000);
