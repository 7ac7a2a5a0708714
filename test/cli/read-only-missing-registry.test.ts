// A read-only `ctl` command pointed at a SQLite registry that does not exist fails and says so,
// instead of creating an empty registry (and data_dir) that then answers "nothing here".
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runCliCaptured as cli, tempConfig } from "../helpers/cli.ts";

const { dir, cfg, remove } = tempConfig("kp-readonly-");
afterAll(remove);
const dataDir = join(dir, "data");
const registry = join(dataDir, "registry.db");

test.each<[string[]]>([
  [["get", "kube_cluster"]],
  [["kube", "ls"]],
  [["inventory", "status"]],
  [["discovery", "status"]],
  [["audit", "tail"]],
  [["users", "ls"]],
  [["tokens", "ls"]],
  [["auth", "jwks"]],
])("ctl %p exits 1 and creates nothing", async (args) => {
  const r = await cli(["ctl", "-c", cfg, ...args]);
  expect(r.stderr).toBe(
    `error: no registry at ${registry} (kubeport start creates it; is -c the config kubeport start uses?)\n`,
  );
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  expect(existsSync(dataDir)).toBe(false);
});

test("a writing command still creates the registry (configure → tokens add → start), and reads then work", async () => {
  const add = await cli(["ctl", "-c", cfg, "tokens", "add", "--type", "discovery,kube"]);
  expect(add.stderr).toBe("");
  expect(add.code).toBe(0);
  expect(existsSync(registry)).toBe(true);
  const ls = await cli(["ctl", "-c", cfg, "tokens", "ls"]);
  expect(ls.stderr).toBe("");
  expect(ls.code).toBe(0);
});
