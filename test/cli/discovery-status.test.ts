// ctl discovery status as a troubleshooter reads it: a mistyped group is not "nothing polled yet",
// and --errors with nothing failed says so.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { formatDiscoveryStatus } from "../../src/cli/commands/discovery.ts";
import type { DiscoveryStatus } from "../../src/registry/index.ts";
import { runCliCaptured, seedRegistry, tempConfig } from "../helpers/cli.ts";

const { dir, cfg, remove } = tempConfig("kp-dstatus-");

beforeAll(async () => {
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
  await seedRegistry(join(dir, "data", "registry.db"), (backend) => backend.put(status));
});
afterAll(remove);

const cli = (args: string[]) => runCliCaptured(["ctl", "-c", cfg, ...args]);

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

test("repeated access problems are one line with a count and the first names", () => {
  const now = new Date().toISOString();
  const configMap = "its authentication mode is CONFIG_MAP, which has no access entries; add …";
  const status = {
    kind: "discovery_status",
    version: "v1",
    metadata: { name: "g" },
    spec: {
      discovery_group: "g",
      holder: "h",
      fence_token: 1,
      scopes: [],
      counts: { created: 0, updated: 0, deleted: 0, unchanged: 0 },
      last_poll: now,
      duration_ms: 1,
      access_warnings: [],
      access_problems: [
        ...Array.from({ length: 329 }, (_, i) => ({
          cluster: `legacy-${String(i).padStart(3, "0")} (us-east-1)`,
          problem: configMap,
        })),
        { cluster: "prod-a (eu-west-1)", problem: "missing eks:CreateAccessEntry for arn:x" },
      ],
    },
  } as unknown as DiscoveryStatus;
  const text = formatDiscoveryStatus([status]);
  expect(text).toContain("Access setup:    330 cluster(s) with a problem:\n");
  expect(text).toContain(
    `  - 329 clusters (legacy-000 (us-east-1), legacy-001 (us-east-1), legacy-002 (us-east-1) and 326 more): ${configMap}\n`,
  );
  expect(text).toContain("  - prod-a (eu-west-1): missing eks:CreateAccessEntry for arn:x\n");
  expect(text.split("\n").filter((l) => l.includes("CONFIG_MAP"))).toHaveLength(1);
});
