// ctl kube ls against a running gateway: with a user's token (rows it cannot see say why) and
// without (ctl's own status token sees every served cluster and nothing else).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { importJWK, type JWK, SignJWT } from "jose";
import { loadConfig } from "../../src/config/index.ts";
import {
  issueStatusToken,
  kubeportIssuer,
  listSigningKeys,
  STATUS_AUDIENCE,
} from "../../src/gateway/auth/index.ts";
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
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
  remove();
});

test("before any signing key exists, kube ls says so and creates none (it only reads)", async () => {
  const r = await cli(["kube", "ls", "--gateway", gateway.url]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^prod-a\s+env=prod\s+-\s+-\s*$/m);
  expect(r.stderr).toContain("note: no active signing key in the registry to sign a status token");
  expect(await listSigningKeys(backend)).toEqual([]);
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
}, 60_000);

test("without a token (an empty $KUBEPORT_TOKEN is none), ctl signs a status token: every served cluster's health, no note", async () => {
  const ls = () =>
    runCliCaptured(["ctl", "-c", cfg, "kube", "ls", "--gateway", gateway.url], {
      env: { KUBEPORT_TOKEN: "" },
    });
  let r = await ls();
  for (const deadline = Date.now() + 20_000; /\s-\s+-\s*$/m.test(r.stdout) && Date.now() < deadline; ) {
    await Bun.sleep(200);
    r = await ls();
  }
  expect(r.code).toBe(0);
  // The endpoints refuse connections: the health checker says so for both.
  expect(r.stdout).toMatch(/^prod-a\s+env=prod\s+(unknown|error)/m);
  expect(r.stdout).toMatch(/^staging-b\s+env=staging\s+(unknown|error)/m);
  expect(r.stderr).toBe("");
}, 60_000);

test("a status token reads health only: 401 on the cluster routes; expired or tampered, 401 on status too", async () => {
  const config = await loadConfig(cfg, { env: {} });
  const issuer = kubeportIssuer(config.proxy_service);
  const token = await issueStatusToken(backend, { issuer });
  expect(token).toBeString();
  const get = (path: string, t: string) =>
    fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${t}` }, tls: { ca: gateway.caPem } });
  const ok = await get("/v1/status/clusters", token!);
  expect(ok.status).toBe(200);
  expect(((await ok.json()) as { name: string }[]).map((h) => h.name).sort()).toEqual([
    "prod-a",
    "staging-b",
  ]);

  const proxied = await get("/v1/clusters/prod-a/api/v1/namespaces", token!);
  expect(proxied.status).toBe(401);
  // Refused for what it is (its audience), not because no user "kubeport-ctl" exists.
  expect(await proxied.json()).toMatchObject({
    kind: "Status",
    reason: "Unauthorized",
    message: expect.stringContaining("wrong audience"),
  });

  // Validly signed with the registry key, but not what ctl signs: another subject, a long life.
  const key = (await listSigningKeys(backend)).find((k) => k.spec.state === "active")!;
  const signed = async (sub: string, lifeS: number) =>
    new SignJWT({})
      .setProtectedHeader({ alg: key.spec.alg, kid: String(key.spec.public_jwk.kid) })
      .setIssuer(issuer)
      .setAudience(STATUS_AUDIENCE)
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + lifeS)
      .sign(await importJWK(key.spec.private_jwk as JWK, key.spec.alg));
  const refusal = async (t: string) => {
    const res = await get("/v1/status/clusters", t);
    return `${res.status} ${((await res.json()) as { message: string }).message}`;
  };
  expect(await refusal(await signed("sam", 60))).toBe("401 not a status token");
  expect(await refusal(await signed("kubeport-ctl", 3600))).toBe(
    "401 token claims a life of 1h; status tokens live at most 5m",
  );
  expect((await get("/v1/status/clusters", await signed("kubeport-ctl", 60))).status).toBe(200);

  const past = { now: () => Date.now() - 10 * 60_000 };
  const expired = await issueStatusToken(backend, { issuer, clock: past });
  expect((await get("/v1/status/clusters", expired!)).status).toBe(401);
  const [h, p, sig] = token!.split(".");
  const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 3600 })).toString("base64url")}.${sig}`;
  expect((await get("/v1/status/clusters", forged)).status).toBe(401);
});
