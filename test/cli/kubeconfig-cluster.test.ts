// kubeport kubeconfig --cluster NAME says which of three things is wrong: no such cluster, not
// served by this gateway, or not reachable by the user's roles.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCliCaptured as cli, dataDirConfig, tempConfig, writePlaceholderCa } from "../helpers/cli.ts";

const { dir, cfg, remove } = tempConfig("kp-kccluster-", (d) =>
  dataDirConfig(
    d,
    "proxy_service: { enabled: yes, listen_addr: '127.0.0.1:3080' }",
    "kubernetes_service: { enabled: yes, resources: [{ labels: { env: [prod, staging] } }] }",
  ),
);

beforeAll(async () => {
  writePlaceholderCa(dir);
  writeFileSync(
    join(dir, "res.yaml"),
    [
      ...[
        ["prod-a", "prod"],
        ["staging-b", "staging"],
        ["dev-c", "dev"],
      ].map(
        ([n, env]) =>
          `kind: kube_cluster\nversion: v1\nmetadata: { name: ${n}, labels: { env: ${env} } }\nspec: { endpoint: 'https://127.0.0.1:1' }`,
      ),
      "kind: role\nversion: v1\nmetadata: { name: stage }\nspec: { allow: { kubernetes_labels: { env: staging }, kubernetes_groups: [dev] } }",
    ].join("\n---\n"),
  );
  expect((await cli(["ctl", "-c", cfg, "create", "-f", join(dir, "res.yaml")])).code).toBe(0);
  expect((await cli(["ctl", "-c", cfg, "users", "add", "sam", "--roles", "stage"])).code).toBe(0);
});
afterAll(remove);

test.each<[string, string]>([
  ["nope", 'error: kube_cluster "nope" not found (kubeport ctl get kube_cluster lists them)\n'],
  [
    "dev-c",
    'error: cluster "dev-c" is not served: its labels match no kubernetes_service.resources selector\n',
  ],
  ["prod-a", 'error: user "sam" may not reach cluster "prod-a" (roles: stage)\n'],
])("--cluster %s", async (cluster, message) => {
  const r = await cli(["kubeconfig", "-c", cfg, "--user", "sam", "--cluster", cluster]);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe(message);
});

test("--cluster of a reachable cluster writes one context", async () => {
  const r = await cli(["kubeconfig", "-c", cfg, "--user", "sam", "--cluster", "staging-b"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("server: https://127.0.0.1:3080/v1/clusters/staging-b");
});
