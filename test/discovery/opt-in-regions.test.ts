// regions: ["*"] includes opt-in regions. One the account has not enabled answers ListClusters with
// UnrecognizedClientException; when the same credentials listed elsewhere, the scope's error says
// why (in the status, `ctl discovery status` and the log) and its clusters are still kept.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { REGION_NOT_ENABLED_HINT } from "../../src/discovery/regions.ts";
import type { DiscoveryStatus } from "../../src/registry/index.ts";
import { runCliCaptured } from "../helpers/cli.ts";
import { type Harness, makeConfig, names, startHarness } from "./harness.ts";

const ACC = "111111111111";
let h: Harness;
let cfg: string;
beforeAll(async () => {
  h = await startHarness(
    {
      clusters: [
        { name: "east", region: "us-east-1" },
        { name: "cape", region: "af-south-1" },
      ],
    },
    makeConfig({ group: "g", matchers: [{ regions: ["*"], tags: {}, setup_access: false }] }),
  );
  cfg = join(h.dir, "kubeport.yaml");
  writeFileSync(cfg, `version: v1\nkubeport:\n  data_dir: ${h.dir}\n`);
}, 60_000);
afterAll(() => h.close());

const scopeErrors = async () => {
  const status = (await h.backend.get("discovery_status", "g")) as DiscoveryStatus;
  return Object.fromEntries(status.spec.scopes.filter((s) => s.error).map((s) => [s.region, s.error]));
};

test("a region refusing the token while others list gets the opt-in hint, and its clusters are kept", async () => {
  const lines: { msg: string; region?: string; err?: string }[] = [];
  const log = pino({ level: "warn" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const s = h.service({ log });
  await s.pollOnce();
  expect(names(await h.clusters())).toEqual(["cape", "east"]);

  // The account "disables" af-south-1 after a poll that found cape there.
  h.sim.state.injectFault({ region: "af-south-1", kind: "region_disabled" });
  const r = await s.pollOnce();
  expect(r.failedScopes).toEqual([`${ACC}/af-south-1`]);
  expect(names(await h.clusters())).toEqual(["cape", "east"]);

  const expected =
    "ListClusters: UnrecognizedClientException: The security token included in the request is invalid; " +
    REGION_NOT_ENABLED_HINT;
  expect(await scopeErrors()).toEqual({ "af-south-1": expected });
  expect(lines.filter((l) => l.region === "af-south-1").map((l) => l.err)).toEqual([expected]);

  const cli = await runCliCaptured(["ctl", "discovery", "status", "--errors"], {
    env: { KUBEPORT_CONFIG: cfg },
  });
  expect(cli.code).toBe(0);
  expect(cli.stdout).toContain("1 failed (their clusters are kept)");
  expect(cli.stdout).toMatch(
    // CLUSTERS keeps the last good count (cape) while the region fails.
    / af-south-1\s+failed\s+1\s.*UnrecognizedClientException.*region not enabled for this account\?/,
  );
}, 60_000);

test("no hint when the credentials fail in every region (bad credentials, not a disabled region)", async () => {
  h.sim.state.clearFaults();
  h.sim.state.injectFault({ action: "eks:ListClusters", kind: "region_disabled" });
  const r = await h.service().pollOnce();
  h.sim.state.clearFaults();
  expect(r.failedScopes.length).toBeGreaterThan(30);
  const errors = Object.values(await scopeErrors());
  expect(errors.length).toBe(r.failedScopes.length);
  for (const e of errors) expect(e).not.toContain(REGION_NOT_ENABLED_HINT);
  expect(names(await h.clusters())).toEqual(["cape", "east"]);
}, 60_000);
