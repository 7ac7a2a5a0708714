// ctl users add suggests the next command with the same -c FILE, so it reads the same registry.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCliCaptured, tempConfig } from "../helpers/cli.ts";

const { dir, cfg, remove } = tempConfig("kp-usershint-");
beforeAll(async () => {
  writeFileSync(
    join(dir, "role.yaml"),
    "kind: role\nversion: v1\nmetadata: { name: ops }\nspec: { allow: { kubernetes_labels: { env: prod }, kubernetes_groups: [ops] } }\n",
  );
  await runCliCaptured(["ctl", "-c", cfg, "create", "-f", join(dir, "role.yaml")]);
});
afterAll(remove);

const usersAdd = (args: string[], env: Record<string, string>) => runCliCaptured(["ctl", ...args], { env });

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
