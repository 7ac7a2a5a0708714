// Access bootstrap: entries created, left alone when right, repaired on drift; clear warnings.
import { afterEach, expect, test } from "bun:test";
import { EKSClient, UpdateAccessEntryCommand } from "@aws-sdk/client-eks";
import pino from "pino";
import { ADMIN_POLICY } from "../../src/sim/aws/index.ts";
import { type Harness, makeConfig, names, startHarness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ACC = "111111111111";
const ME = `arn:aws:iam::${ACC}:user/sim-admin`;
const KEYS = {
  accessKeyId: "AKIASIMULATOR0000001",
  secretAccessKey: "simSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY0",
};
const MUTATING = [
  "eks:CreateAccessEntry",
  "eks:UpdateAccessEntry",
  "eks:AssociateAccessPolicy",
  "eks:DeleteAccessEntry",
];
const accessCalls = (h: Harness) =>
  h.sim.state
    .calls()
    .filter((c) => /AccessEntry|AccessPolic/.test(c.action))
    .map((c) => c.action);

/** A logger whose warnings tests can read. */
function captureLog() {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, warnings: () => lines.filter((l) => l.level === 40).map((l) => l.msg) };
}

test("creates the entry and policy once; a correct entry gets no mutating call; drift is repaired", async () => {
  h = await startHarness(
    {
      clusters: [
        {
          name: "prod-a",
          region: "us-east-1",
          authenticationMode: "API",
          creatorAdmin: false,
          tags: { env: "prod" },
        },
      ],
    },
    makeConfig({ matchers: [{ tags: {}, kubernetes_groups: ["kubeport", "viewers"] }] }),
  );
  const arn = `arn:aws:eks:us-east-1:${ACC}:cluster/prod-a`;
  const s = h.service();
  const first = await s.pollOnce();
  expect(first.access).toMatchObject({ created: 1, associated: 1, warnings: [] });
  expect(h.sim.state.accessEntryFor(arn, ME)).toMatchObject({
    kubernetesGroups: ["kubeport", "viewers"],
    policies: [ADMIN_POLICY],
  });

  // Confirmed: the next polls make no access calls at all.
  h.sim.state.resetCalls();
  await s.pollOnce();
  expect(accessCalls(h)).toEqual([]);

  // A fresh service re-verifies with reads only.
  const fresh = h.service({ holder: "test-2" });
  await fresh.pollOnce();
  const calls = accessCalls(h);
  expect(calls.sort()).toEqual(["eks:DescribeAccessEntry", "eks:ListAssociatedAccessPolicies"]);
  expect(calls.filter((c) => MUTATING.includes(c))).toEqual([]);

  // Someone changes the groups; the cluster is retagged (changed) → the entry is repaired.
  const eks = new EKSClient({ region: "us-east-1", credentials: KEYS });
  await eks.send(
    new UpdateAccessEntryCommand({ clusterName: "prod-a", principalArn: ME, kubernetesGroups: ["other"] }),
  );
  eks.destroy();
  h.sim.state.tagCluster(ACC, "us-east-1", "prod-a", { touched: "1" });
  h.sim.state.resetCalls();
  const r = await s.pollOnce();
  expect(r.updated).toBe(1);
  expect(r.access).toMatchObject({ updated: 1, created: 0, associated: 0 });
  expect(accessCalls(h).filter((c) => MUTATING.includes(c))).toEqual(["eks:UpdateAccessEntry"]);
  expect(h.sim.state.accessEntryFor(arn, ME)?.kubernetesGroups.sort()).toEqual(["kubeport", "viewers"]);
}, 60_000);

test("missing eks:CreateAccessEntry: one clear warning, the cluster stays enrolled, no repeat", async () => {
  const { log, warnings } = captureLog();
  h = await startHarness(
    {
      accounts: [{ id: ACC, principals: [{ arn: ME, ...KEYS, deny: ["eks:CreateAccessEntry"] }] }],
      clusters: [
        {
          name: "prod-a",
          region: "us-east-1",
          authenticationMode: "API_AND_CONFIG_MAP",
          creatorAdmin: false,
        },
        { name: "legacy", region: "us-east-1", authenticationMode: "CONFIG_MAP" },
      ],
    },
    makeConfig({ matchers: [{ tags: {} }] }),
  );
  const s = h.service({ log });
  const r = await s.pollOnce();
  expect(names(await h.clusters())).toEqual(["legacy", "prod-a"]);
  const w = warnings();
  expect(w).toHaveLength(2);
  expect(w.find((m) => m.includes("prod-a"))).toBe(
    `cannot set up access to cluster prod-a (us-east-1): missing eks:CreateAccessEntry for ${ME}; grant it or create the access entry for ${ME} (groups kubeport) yourself`,
  );
  expect(w.find((m) => m.includes("legacy"))).toContain("CONFIG_MAP");
  expect(w.find((m) => m.includes("legacy"))).toContain(`rolearn: ${ME}`);
  expect(r.access.warnings).toHaveLength(2);

  // Changed cluster → checked again, still denied, but not warned again.
  h.sim.state.tagCluster(ACC, "us-east-1", "prod-a", { touched: "1" });
  const r2 = await s.pollOnce();
  expect(r2.updated).toBe(1);
  expect(warnings()).toHaveLength(2);
  expect(r2.access.warnings).toHaveLength(2);
}, 60_000);

test("an assumed role is granted as its IAM role; setup_access_for_arn names another principal; setup_access false makes no calls", async () => {
  const ROLE = `arn:aws:iam::${ACC}:role/discovery`;
  h = await startHarness(
    {
      accounts: [{ id: ACC, principals: [{ arn: ME, ...KEYS }], roles: [{ arn: ROLE }] }],
      clusters: [{ name: "a", region: "us-east-1", authenticationMode: "API", creatorAdmin: false }],
    },
    makeConfig({ matchers: [{ tags: {}, assume_role_arn: ROLE }] }),
  );
  const arn = `arn:aws:eks:us-east-1:${ACC}:cluster/a`;
  await h.service().pollOnce();
  expect(h.sim.state.accessEntryFor(arn, ROLE)?.kubernetesGroups).toEqual(["kubeport"]);

  const GATEWAY = `arn:aws:iam::${ACC}:role/gateway`;
  await h
    .service({
      config: makeConfig({
        matchers: [{ tags: {}, setup_access_for_arn: GATEWAY, kubernetes_groups: ["gw"] }],
      }),
    })
    .pollOnce();
  expect(h.sim.state.accessEntryFor(arn, GATEWAY)?.kubernetesGroups).toEqual(["gw"]);

  h.sim.state.resetCalls();
  await h.service({ config: makeConfig({ matchers: [{ tags: {}, setup_access: false }] }) }).pollOnce();
  expect(accessCalls(h)).toEqual([]);
}, 60_000);

test("a confirmed cluster is re-verified (reads only) after 10 poll intervals", async () => {
  h = await startHarness(
    { clusters: [{ name: "a", region: "us-east-1", authenticationMode: "API", creatorAdmin: false }] },
    makeConfig({ matchers: [{ tags: {} }], pollInterval: "1m" }),
  );
  let now = Date.now();
  const s = h.service({ clock: { now: () => now } });
  await s.pollOnce();
  h.sim.state.resetCalls();
  for (let i = 0; i < 9; i++) {
    now += 60_000;
    await s.pollOnce();
  }
  expect(accessCalls(h)).toEqual([]);
  now += 60_001;
  await s.pollOnce();
  expect(accessCalls(h).sort()).toEqual(["eks:DescribeAccessEntry", "eks:ListAssociatedAccessPolicies"]);
}, 60_000);
