// Stray words and unsupported formats are usage errors (exit 2), not silently ignored.
import { expect, test } from "bun:test";
import { parse } from "yaml";
import { runCliCaptured as cli } from "../helpers/cli.ts";

test.each<[string[], string]>([
  [["configure", "aws-prod"], "kubeport configure"],
  [["version", "now"], "kubeport version"],
  [["ctl", "tokens", "ls", "extra"], "kubeport ctl tokens ls"],
])("%p: unexpected argument, exit 2 with that command's usage", async (args, path) => {
  const r = await cli(args);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  expect(r.stderr).toStartWith(`error: unexpected argument "${args.at(-1)}"\nUsage: ${path} [options]`);
});

test("version --format yaml is YAML; --format xml is a usage error", async () => {
  const yaml = await cli(["version", "--format", "yaml"]);
  expect(yaml.code).toBe(0);
  expect(parse(yaml.stdout).version).toMatch(/^\d+\.\d+\.\d+/);
  const json = await cli(["version", "--format", "json"]);
  expect(JSON.parse(json.stdout).bun).toBe(Bun.version);
  const xml = await cli(["version", "--format", "xml"]);
  expect(xml.code).toBe(2);
  expect(xml.stderr).toStartWith('error: --format: "xml" is not one of: text, yaml, json');
});

test("ctl create shows -f FILE in its usage line", async () => {
  const r = await cli(["ctl", "create", "--help"]);
  expect(r.stdout).toStartWith("Usage: kubeport ctl create [options] -f FILE\n");
});
