// ctl tokens add prints join steps that fit this deployment: the same discovery group, and the
// registry the token lives in (a fresh SQLite config on another host could never find it).
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
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
    "> kubeport configure --token /var/lib/kubeport/token --discovery-group eu-prod -o /etc/kubeport.yaml\n",
  );
  expect(stdout).toContain(
    `The token is stored in this host's SQLite registry (${join(dir, "data", "registry.db")})`,
  );
});
