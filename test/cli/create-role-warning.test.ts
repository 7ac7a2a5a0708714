// ctl create: a warning for a role that selects clusters but grants no Kubernetes identity (the gateway
// would refuse its users with 403), and a missing -f file named as a usage error.
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCliCaptured, tempConfig } from "../helpers/cli.ts";

const { dir, cfg, remove } = tempConfig("kp-rolewarn-");
afterAll(remove);

async function create(name: string, allow: string) {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `kind: role\nversion: v1\nmetadata: { name: ${name} }\nspec:\n  allow: ${allow}\n`);
  return runCliCaptured(["ctl", "-c", cfg, "create", "-f", file]);
}

test.each<[string, string, boolean]>([
  ["labels-only", "{ kubernetes_labels: { env: staging } }", true],
  [
    "empty-lists",
    "{ kubernetes_labels: { env: staging }, kubernetes_groups: [], kubernetes_users: [] }",
    true,
  ],
  ["with-groups", "{ kubernetes_labels: { env: staging }, kubernetes_groups: [developers] }", false],
  ["with-users", "{ kubernetes_labels: { env: staging }, kubernetes_users: [alice] }", false],
])("role %s, allow %s: warned %p", async (name, allow, warned) => {
  const r = await create(name, allow);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe(
    warned
      ? `warning: role "${name}" allows clusters but grants no kubernetes_groups or kubernetes_users: a user holding only this role is refused (403); add e.g. kubernetes_groups: ["viewers"]\n`
      : "",
  );
});

test("create -f of a missing file is a usage error naming it", async () => {
  const { code, stderr } = await runCliCaptured(["ctl", "-c", cfg, "create", "-f", join(dir, "nope.yaml")]);
  expect(code).toBe(2);
  expect(stderr).toStartWith(
    `error: -f ${join(dir, "nope.yaml")}: file not found\nUsage: kubeport ctl create [options] -f FILE\n`,
  );
});
