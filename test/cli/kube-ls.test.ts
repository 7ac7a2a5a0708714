// ctl kube ls against a running gateway: rows the token's user cannot see say why they have no health.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/index.ts";
import { createGateway, type Gateway } from "../../src/gateway/index.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { type Backend, openSqliteBackend } from "../../src/registry/index.ts";
import { dataDirConfig, runCliCaptured, tempConfig } from "../helpers/cli.ts";

const { dir, cfg, remove } = tempConfig("kp-kubels-", (d) =>
  dataDirConfig(
    d,
    "proxy_service: { enabled: yes, listen_addr: '127.0.0.1:0' }",
    "kubernetes_service: { enabled: yes, resources: [{ labels: { '*': '*' } }] }",
  ),
);
let backend: Backend;
let gateway: Gateway;

const cli = (args: string[]) => runCliCaptured(["ctl", "-c", cfg, ...args]);

beforeAll(async () => {
  writeFileSync(
    join(dir, "resources.yaml"),
    [
      "kind: kube_cluster\nversion: v1\nmetadata: { name: prod-a, labels: { env: prod } }\nspec: { endpoint: 'https://127.0.0.1:1' }",
      "kind: kube_cluster\nversion: v1\nmetadata: { name: staging-b, labels: { env: staging } }\nspec: { endpoint: 'https://127.0.0.1:1' }",
      "kind: role\nversion: v1\nmetadata: { name: stage }\nspec: { allow: { kubernetes_labels: { env: staging }, kubernetes_groups: [viewers] } }",
    ].join("\n---\n"),
  );
  expect((await cli(["create", "-f", join(dir, "resources.yaml")])).code).toBe(0);
  expect((await cli(["users", "add", "sam", "--roles", "stage"])).code).toBe(0);
  const config = await loadConfig(cfg, { env: {} });
  backend = openSqliteBackend({ path: config.kubeport.storage.path, log: silentLogger });
  gateway = await createGateway({ config, backend, log: silentLogger });
}, 30_000);

afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
  remove();
});

test("a served cluster the token cannot see gets a note, not a silent '-'", async () => {
  const token = (await cli(["auth", "sign", "--user", "sam", "--ttl", "10m"])).stdout.trim();
  // The gateway learns clusters, roles and users from the registry feed: wait until it serves sam's one.
  let r = await cli(["kube", "ls", "--gateway", gateway.url, "--token", token]);
  for (
    const deadline = Date.now() + 20_000;
    /^staging-b\s+env=staging\s+-/m.test(r.stdout) && Date.now() < deadline;
  ) {
    await Bun.sleep(200);
    r = await cli(["kube", "ls", "--gateway", gateway.url, "--token", token]);
  }
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^prod-a\s+env=prod\s+-\s+-\s*$/m);
  expect(r.stdout).toMatch(/^staging-b\s+env=staging\s+(unknown|error|degraded|ok)/m);
  expect(r.stderr).toBe(
    `note: no health for prod-a: the token's roles do not reach it, or the gateway at ${gateway.url} does not serve it\n`,
  );
}, 30_000);
