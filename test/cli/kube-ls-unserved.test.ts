// Teleport's troubleshooting step: a cluster in `ctl get kube_cluster` but not in `ctl kube ls` points
// at kubernetes_service.resources; kube ls says so and names the clusters and the selectors.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { dataDirConfig, runCliCaptured, tempConfig } from "../helpers/cli.ts";

const { dir, cfg, remove } = tempConfig("kp-unserved-", (d) =>
  dataDirConfig(d, "kubernetes_service: { enabled: yes, resources: [{ labels: { env: [staging, qa] } }] }"),
);
const cli = (args: string[]) => runCliCaptured(["ctl", "-c", cfg, ...args]);

beforeAll(async () => {
  writeFileSync(
    join(dir, "clusters.yaml"),
    ["prod-a", "prod-b"]
      .map(
        (n) =>
          `kind: kube_cluster\nversion: v1\nmetadata: { name: ${n}, labels: { env: prod } }\nspec: { endpoint: 'https://127.0.0.1:1' }`,
      )
      .join("\n---\n"),
  );
  expect((await cli(["create", "-f", join(dir, "clusters.yaml")])).code).toBe(0);
});
afterAll(remove);

test("registered but unserved clusters are named with the selectors they miss; no token nagging", async () => {
  const r = await cli(["kube", "ls"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("NAME LABELS STATUS LAST CHECK\n---- ------ ------ ----------\n");
  expect(r.stderr).toBe(
    "note: 2 registered kube_cluster(s) not served, their labels match no kubernetes_service.resources selector (env=staging|qa): prod-a, prod-b\n",
  );
});
