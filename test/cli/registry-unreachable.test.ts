// ctl against a Redis registry nobody answers: exit 1 with one line naming the registry (not a bare
// "The operation timed out."), and the password kept out of it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliCaptured } from "../helpers/cli.ts";
import { freePort } from "../helpers/redis.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kp-unreach-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("an unreachable Redis registry is named in the error, password hidden", async () => {
  const port = freePort();
  const cfg = join(dir, "redis.yaml");
  writeFileSync(
    cfg,
    `version: v1\nkubeport:\n  data_dir: ${join(dir, "data")}\n  storage: { type: redis, url: "redis://:s3cret@127.0.0.1:${port}/0" }\n`,
  );
  const { code, stderr } = await runCliCaptured(["ctl", "-c", cfg, "get", "kube_cluster"], {
    logLevel: "error",
    registryWaitMs: 2_000,
  });
  expect(code).toBe(1);
  expect(stderr).toBe(`error: registry redis redis://:***@127.0.0.1:${port}/0 not reachable within 2s\n`);
}, 60_000);
