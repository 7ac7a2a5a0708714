// Live matchers: `kind: discovery_config` resources (ctl create -f), keyed by discovery group, merged
// with the file's matchers and picked up by the group's leader within one poll, without a restart.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCliCaptured } from "../helpers/cli.ts";
import { type Harness, makeConfig, names, startHarness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const waitFor = async (what: string, cond: () => Promise<boolean>, ms: number) => {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await Bun.sleep(50);
  }
};

const setup = async () => {
  h = await startHarness({
    clusters: [
      { name: "prod-a", region: "us-east-1", tags: { env: "prod" } },
      { name: "dev-b", region: "eu-west-1", tags: { env: "dev" } },
      { name: "other", region: "eu-west-1", tags: { env: "qa" } },
    ],
  });
  const cfg = join(h.dir, "kubeport.yaml");
  writeFileSync(cfg, `version: v1\nkubeport:\n  data_dir: ${h.dir}\n`);
  const file = (name: string, text: string) => {
    const p = join(h!.dir, name);
    writeFileSync(p, text);
    return p;
  };
  const cli = (args: string[]) => runCliCaptured(["ctl", ...args], { env: { KUBEPORT_CONFIG: cfg } });
  return { hh: h, file, cli };
};

const LIVE = `kind: discovery_config
version: v1
metadata: { name: dev-eu }
spec:
  discovery_group: live
  aws:
    - types: [eks]
      regions: [eu-west-1]
      tags: { env: dev }
      setup_access: no
`;

test("a discovery_config is checked by the config file's matcher schema: every problem at once, with paths and did-you-mean; nothing stored", async () => {
  const { file, cli, hh } = await setup();
  const bad = file(
    "bad.yaml",
    `kind: discovery_config
version: v1
metadata: { name: broken }
spec:
  discovery_group: live
  aws:
    - types: [eks]
      regionz: [eu-west-1]
      tags: { env: "^(dev$" }
    - types: [ekss]
`,
  );
  const r = await cli(["create", "-f", bad]);
  // Invalid resources exit 2, as an invalid config file does (issue 10 §1).
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('spec.aws[0].regionz: unknown key; did you mean "regions"?');
  expect(r.stderr).toContain("spec.aws[0].tags.env: invalid regular expression");
  expect(r.stderr).toContain('spec.aws[1].types[0]: "ekss" is not one of: eks');
  expect(await hh.backend.list("discovery_config")).toEqual([]);
  const noSpec = file(
    "nospec.yaml",
    "kind: discovery_config\nversion: v1\nmetadata: { name: x }\nspec: { aws: [] }\n",
  );
  const r2 = await cli(["create", "-f", noSpec]);
  expect(r2.code).toBe(2);
  expect(r2.stderr).toContain("spec.discovery_group");
  expect(r2.stderr).toContain("spec.aws: must list at least one matcher");
}, 60_000);

test("the group's leader picks a discovery_config up within one poll, without a restart; removing it removes its clusters", async () => {
  const { file, cli, hh } = await setup();
  const config = makeConfig({
    group: "live",
    pollInterval: "2s",
    matchers: [{ regions: ["us-east-1"], tags: { env: "prod" }, setup_access: false }],
  });
  const s = hh.service({ config });
  await s.start();
  await waitFor("the file's matcher", async () => names(await hh.clusters()).includes("prod-a"), 20_000);
  expect(names(await hh.clusters())).toEqual(["prod-a"]);

  const created = await cli(["create", "-f", file("live.yaml", LIVE)]);
  expect(created.stderr).toBe("");
  expect(created.code).toBe(0);
  // Another group's config is not this group's business.
  await cli([
    "create",
    "-f",
    file(
      "other.yaml",
      LIVE.replace("dev-eu", "qa").replace("group: live", "group: elsewhere").replace("env: dev", "env: qa"),
    ),
  ]);
  const t0 = Date.now();
  await waitFor("dev-b", async () => names(await hh.clusters()).includes("dev-b"), 30_000);
  // One poll interval (2 s) plus a generous margin for a loaded machine.
  expect(Date.now() - t0).toBeLessThan(2000 + 10_000);
  expect(names(await hh.clusters())).toEqual(["dev-b", "prod-a"]);

  const get = await cli(["get", "discovery_config"]);
  expect(get.code).toBe(0);
  expect(get.stdout).toMatch(/^dev-eu\s+live\s+1\s+eu-west-1\s+env=dev/m);
  expect(get.stdout).toMatch(/^qa\s+elsewhere\s/m);

  expect((await cli(["rm", "discovery_config/dev-eu"])).code).toBe(0);
  await waitFor("dev-b to go", async () => !names(await hh.clusters()).includes("dev-b"), 30_000);
  expect(names(await hh.clusters())).toEqual(["prod-a"]);
  await s.stop();
}, 90_000);
