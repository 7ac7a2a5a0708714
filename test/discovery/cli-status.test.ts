// `kubeport ctl discovery status` over a registry a real poll wrote (one region failing).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCliCaptured } from "../helpers/cli.ts";
import { type Harness, makeConfig, startHarness } from "./harness.ts";

let h: Harness;
let cfg: string;
beforeAll(async () => {
  h = await startHarness(
    {
      clusters: [
        { name: "a", region: "us-east-1" },
        { name: "b", region: "eu-west-1" },
      ],
    },
    makeConfig({
      group: "prod",
      matchers: [{ regions: ["us-east-1", "eu-west-1", "sa-east-1"], tags: {}, setup_access: false }],
    }),
  );
  h.sim.state.injectFault({ region: "eu-west-1", kind: "denied" });
  await h.service({ holder: "node-1" }).pollOnce();
  cfg = join(h.dir, "kubeport.yaml");
  writeFileSync(cfg, `version: v1\nkubeport:\n  data_dir: ${h.dir}\n`);
}, 60_000);
afterAll(() => h.close());

const cli = (args: string[]) => runCliCaptured(args, { env: { KUBEPORT_CONFIG: cfg } });

test("shows leader, last poll, counts and per account/region rows with errors", async () => {
  const { code, stdout } = await cli(["ctl", "discovery", "status"]);
  expect(code).toBe(0);
  expect(stdout).toContain("Discovery group: prod");
  expect(stdout).toContain("Leader:          node-1");
  expect(stdout).toContain("1 created, 0 updated, 0 deleted, 0 unchanged");
  expect(stdout).toContain("1 failed (their clusters are kept)");
  expect(stdout).toMatch(/0\s+111111111111\s+us-east-1\s+ok\s+1\s/);
  expect(stdout).toMatch(/eu-west-1\s+failed\s+0\s.*never\s+ListClusters: AccessDeniedException/);
  expect(stdout).not.toContain("sa-east-1");
  expect(stdout).toContain("1 scopes with no clusters and no error not shown");
  expect((await cli(["ctl", "discovery", "status", "--all"])).stdout).toContain("sa-east-1");
  const errs = (await cli(["ctl", "discovery", "status", "--errors"])).stdout;
  expect(errs).toContain("eu-west-1");
  expect(errs).not.toMatch(/us-east-1\s+1/);
});

test("json output and an unknown group", async () => {
  const json = JSON.parse((await cli(["ctl", "discovery", "status", "--format", "json"])).stdout);
  expect(json[0].spec).toMatchObject({ discovery_group: "prod", holder: "node-1" });
  // A mistyped group is not found (exit 1) and the groups that have polled are listed.
  const unknown = await cli(["ctl", "discovery", "status", "nope"]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('no discovery status for group "nope" (groups that have polled: prod)');
});
