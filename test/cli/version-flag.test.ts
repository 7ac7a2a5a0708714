// `kubeport --version` answers as `kubeport version` does (it was an unknown option, exit 2).
import { expect, test } from "bun:test";
import { runCliCaptured } from "../helpers/cli.ts";

test("--version prints the version", async () => {
  const flag = await runCliCaptured(["--version"]);
  const cmd = await runCliCaptured(["version"]);
  expect(flag.code).toBe(0);
  expect(flag.stdout).toBe(cmd.stdout);
  expect(flag.stdout).toMatch(/^kubeport v\d+\.\d+\.\d+/);
});
