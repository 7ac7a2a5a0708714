// ctl get/rm/create as a tctl user types them: plural kinds, and one clear line when a resource exists.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCliCaptured, tempConfig } from "../helpers/cli.ts";

const { dir, cfg, remove } = tempConfig("kp-kinds-");

beforeAll(() => {
  writeFileSync(
    join(dir, "role.yaml"),
    "kind: role\nversion: v1\nmetadata: { name: dev }\nspec:\n  allow:\n    kubernetes_labels: { env: staging }\n",
  );
});
afterAll(remove);

const cli = (args: string[]) => runCliCaptured(["ctl", "-c", cfg, ...args]);

test("create twice: one line saying it exists and how to overwrite", async () => {
  expect((await cli(["create", "-f", join(dir, "role.yaml")])).code).toBe(0);
  const again = await cli(["create", "-f", join(dir, "role.yaml")]);
  expect(again.code).toBe(1);
  expect(again.stderr).toBe('error: role "dev" already exists; use --force to overwrite\n');
});

test.each([["roles"], ["role"], ["ROLES"]])("get %s lists roles", async (word) => {
  const r = await cli(["get", word]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^dev\s+env=staging/m);
});

test("get users, kube_clusters and kube-cluster are kinds too", async () => {
  expect((await cli(["users", "add", "alice", "--roles", "dev"])).code).toBe(0);
  const users = await cli(["get", "users"]);
  expect(users.code).toBe(0);
  expect(users.stdout).toMatch(/^alice\s+dev/m);
  for (const word of ["kube_clusters", "kube-cluster"]) expect((await cli(["get", word])).code).toBe(0);
});

test("rm users/NAME deletes the user; an unknown kind still lists the known ones", async () => {
  const rm = await cli(["rm", "users/alice"]);
  expect(rm.stderr).toBe("");
  expect(rm.stdout).toBe('user "alice" has been deleted\n');
  const bad = await cli(["get", "pods"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('unknown kind "pods" (known: kube_cluster,');
});
