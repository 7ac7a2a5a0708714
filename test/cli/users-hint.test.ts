// ctl users add suggests the next command with the same -c FILE, so it reads the same registry.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/index.ts";

let dir: string;
let cfg: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kp-usershint-"));
  cfg = join(dir, "kubeport.yaml");
  writeFileSync(cfg, `version: v1\nkubeport:\n  data_dir: ${join(dir, "data")}\n`);
  writeFileSync(
    join(dir, "role.yaml"),
    "kind: role\nversion: v1\nmetadata: { name: ops }\nspec: { allow: { kubernetes_labels: { env: prod }, kubernetes_groups: [ops] } }\n",
  );
  await runCli(["ctl", "-c", cfg, "create", "-f", join(dir, "role.yaml")], {
    stdout: () => {},
    stderr: () => {},
    env: {},
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function usersAdd(args: string[], env: Record<string, string>) {
  let stdout = "";
  const code = await runCli(["ctl", ...args], {
    stdout: (t) => {
      stdout += t;
    },
    stderr: () => {},
    env,
  });
  return { code, stdout };
}

test("with -c FILE the suggested kubeconfig command carries it", async () => {
  const r = await usersAdd(["-c", cfg, "users", "add", "bob", "--roles", "ops"], {});
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(
    `Give them a kubeconfig: kubeport kubeconfig -c ${cfg} --user bob -o bob.kubeconfig\n`,
  );
});

test("with $KUBEPORT_CONFIG the suggestion needs no -c", async () => {
  const r = await usersAdd(["users", "add", "carol", "--roles", "ops"], { KUBEPORT_CONFIG: cfg });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(
    "Give them a kubeconfig: kubeport kubeconfig --user carol -o carol.kubeconfig\n",
  );
});
