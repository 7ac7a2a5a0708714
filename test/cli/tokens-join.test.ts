// ctl tokens add prints join steps that fit this deployment: the same discovery group, and the
// registry the token lives in (a fresh SQLite config on another host could never find it).
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { configureFlags } from "../../src/cli/commands/tokens.ts";
import { parseConfig } from "../../src/config/index.ts";
import { dataDirConfig, runCliCaptured, tempConfig } from "../helpers/cli.ts";

const { dir, cfg, remove } = tempConfig("kp-tokjoin-", (d) =>
  dataDirConfig(
    d,
    "discovery_service:",
    "  enabled: yes",
    "  discovery_group: eu-prod",
    "  aws: [{ types: [eks], regions: [eu-west-1], tags: { env: prod } }]",
  ),
);
afterAll(remove);

test("the printed configure line keeps this host's discovery group, and SQLite's limit is said", async () => {
  const { code, stdout } = await runCliCaptured(["ctl", "-c", cfg, "tokens", "add", "--type=discovery,kube"]);
  expect(code).toBe(0);
  expect(stdout).toContain(
    "> kubeport configure --token /var/lib/kubeport/token --discovery-group eu-prod --out /etc/kubeport.yaml\n",
  );
  expect(stdout).toContain(
    `The token is stored in this host's SQLite registry (${join(dir, "data", "registry.db")})`,
  );
});

test("with a Redis registry the configure line names it, quoted, without its password", () => {
  const config = parseConfig(
    `version: v1\nkubeport:\n  data_dir: ${dir}\n  storage: { type: redis, url: "redis://:s3cr'et@10.0.0.5:6379/0" }\n`,
    "t",
    { env: {}, hostname: "h" },
  );
  const flags = configureFlags(config);
  expect(flags).not.toContain("s3cr");
  expect(flags).toBe(" --storage-url redis://:PASSWORD@10.0.0.5:6379/0");
});
