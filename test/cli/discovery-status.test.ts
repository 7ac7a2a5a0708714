// ctl discovery status as a troubleshooter reads it: a mistyped group is not "nothing polled yet",
// and --errors with nothing failed says so.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/index.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { type DiscoveryStatus, openSqliteBackend } from "../../src/registry/index.ts";

let dir: string;
let cfg: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kp-dstatus-"));
  cfg = join(dir, "kubeport.yaml");
  writeFileSync(cfg, `version: v1\nkubeport:\n  data_dir: ${join(dir, "data")}\n`);
  const backend = openSqliteBackend({ path: join(dir, "data", "registry.db"), log: silentLogger });
  const now = new Date().toISOString();
  const status: DiscoveryStatus = {
    kind: "discovery_status",
    version: "v1",
    metadata: { name: "aws-prod" },
    spec: {
      discovery_group: "aws-prod",
      holder: "host-a",
      fence_token: 3,
      scopes: [{ matcher: 0, account: "111111111111", region: "us-east-1", last_poll: now, clusters: 2 }],
      counts: { created: 2, updated: 0, deleted: 0, unchanged: 0 },
      last_poll: now,
      duration_ms: 120,
    },
  };
  await backend.put(status);
  await backend.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(["ctl", "-c", cfg, ...args], {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: {},
  });
  return { code, stdout, stderr };
}

test("a group that has never polled, beside one that has, is not found and the known groups are listed", async () => {
  const r = await cli(["discovery", "status", "aws-prd"]);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe(
    'error: no discovery status for group "aws-prd" (groups that have polled: aws-prod)\n',
  );
});

test("--errors with no failed scope says every scope answered", async () => {
  const r = await cli(["discovery", "status", "aws-prod", "--errors"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("Leader:          host-a (fencing token 3)");
  expect(r.stdout).toContain("No failed scopes: every account and region answered.");
});
