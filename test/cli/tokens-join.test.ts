// ctl tokens add prints join steps that fit this deployment: the same discovery group, and the
// registry the token lives in (a fresh SQLite config on another host could never find it).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/index.ts";

let dir: string;
let cfg: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kp-tokjoin-"));
  cfg = join(dir, "kubeport.yaml");
  writeFileSync(
    cfg,
    [
      "version: v1",
      "kubeport:",
      `  data_dir: ${join(dir, "data")}`,
      "discovery_service:",
      "  enabled: yes",
      "  discovery_group: eu-prod",
      "  aws: [{ types: [eks], regions: [eu-west-1], tags: { env: prod } }]",
      "",
    ].join("\n"),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the printed configure line keeps this host's discovery group, and SQLite's limit is said", async () => {
  let stdout = "";
  const code = await runCli(["ctl", "-c", cfg, "tokens", "add", "--type=discovery,kube"], {
    stdout: (t) => {
      stdout += t;
    },
    stderr: () => {},
    env: {},
  });
  expect(code).toBe(0);
  expect(stdout).toContain(
    "> kubeport configure --token /var/lib/kubeport/token --discovery-group eu-prod -o /etc/kubeport.yaml\n",
  );
  expect(stdout).toContain(
    `The token is stored in this host's SQLite registry (${join(dir, "data", "registry.db")})`,
  );
});
