// ctl create: a warning for a role that selects clusters but grants no Kubernetes identity (the gateway
// would refuse its users with 403), and a missing -f file named as a usage error.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/index.ts";

let dir: string;
let cfg: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kp-rolewarn-"));
  cfg = join(dir, "kubeport.yaml");
  writeFileSync(cfg, `version: v1\nkubeport:\n  data_dir: ${join(dir, "data")}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function create(name: string, allow: string) {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `kind: role\nversion: v1\nmetadata: { name: ${name} }\nspec:\n  allow: ${allow}\n`);
  let stderr = "";
  const code = await runCli(["ctl", "-c", cfg, "create", "-f", file], {
    stdout: () => {},
    stderr: (t) => {
      stderr += t;
    },
    env: {},
  });
  return { code, stderr };
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
  let stderr = "";
  const code = await runCli(["ctl", "-c", cfg, "create", "-f", join(dir, "nope.yaml")], {
    stdout: () => {},
    stderr: (t) => {
      stderr += t;
    },
    env: {},
  });
  expect(code).toBe(2);
  expect(stderr).toStartWith(
    `error: -f ${join(dir, "nope.yaml")}: file not found\nUsage: kubeport ctl create [options] -f FILE\n`,
  );
});
