// End to end for people of an OIDC issuer: `kubeport kubeconfig --oidc` writes contexts whose user is
// an exec credential plugin; real kubectl runs it for a token from the issuer (a local one here, the
// plugin a script standing in for kubelogin) and reaches the simulated cluster through the gateway.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { parse } from "yaml";
import { discoveredIssuer } from "../../src/cli/commands/kubeconfig.ts";
import { eksCredentials } from "../../src/gateway/index.ts";
import { runCliCaptured } from "../helpers/cli.ts";
import { type KubectlEnv, kubectl } from "../helpers/kubectl.ts";
import {
  startDevProdSim,
  startTestGateway,
  startTestIdp,
  type TestGateway,
  type TestIdp,
  testRoles,
} from "./fixture.ts";

let sims: Awaited<ReturnType<typeof startDevProdSim>>;
let gw: TestGateway;
let idp: TestIdp;
let issuerUrl: string;
const dir = mkdtempSync(join(tmpdir(), "kp-oidc-kubectl-"));

/**
 * The stand-in for kubelogin, in `dir/bin/<name>`: prints an ExecCredential with the token in
 * `tokenFile` and logs its args. Named `kubectl-oidc_login` it is what `kubectl oidc-login` runs.
 */
function fakePlugin(tokenFile: string, name = "fake-kubelogin"): string {
  mkdirSync(join(dir, "bin"), { recursive: true });
  const script = join(dir, "bin", name);
  writeFileSync(
    script,
    [
      "#!/bin/sh",
      `echo "$@" >> ${join(dir, "plugin-args")}`,
      `printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s"}}' "$(cat ${tokenFile})"`,
      "",
    ].join("\n"),
  );
  chmodSync(script, 0o755);
  return script;
}

const signIdToken = (claims: Record<string, unknown>) => {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: `${issuerUrl}/`,
    aud: "kubeport-cli",
    sub: "u-1",
    iat: now,
    exp: now + 600,
    ...claims,
  })
    .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
    .sign(idp.privateKey);
};

beforeAll(async () => {
  // The issuer calls itself "<url>/" (Auth0 does); the config below leaves the slash out.
  idp = await startTestIdp({ trailingSlash: true });
  issuerUrl = idp.issuerUrl;
  sims = await startDevProdSim();
  gw = await startTestGateway({
    realAuth: true,
    credentials: eksCredentials(),
    clusters: sims.clusters,
    resources: testRoles,
    proxyYaml: [
      "  oidc:",
      `    - issuer_url: ${issuerUrl}`,
      "      audience: kubeport-cli",
      "      groups_to_roles: { engineers: [dev], sre: [admin] }",
      "",
    ].join("\n"),
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await sims?.close();
  idp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const proxy = () => `localhost:${new URL(gw.gateway.url).port}`;
/** `kubeport kubeconfig -c <the gateway's config> --oidc ARGS…`. */
const oidcKubeconfig = (...args: string[]) =>
  runCliCaptured(["kubeconfig", "-c", gw.configPath, "--oidc", ...args]);
const kubectlWith = (kubeconfig: string): KubectlEnv => ({
  dir,
  kubeconfig,
  env: {
    // dir/bin first: kubectl finds the kubectl-oidc_login plugin there, as after `krew install`.
    PATH: `${join(dir, "bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    HOME: dir,
    KUBECONFIG: kubeconfig,
    KUBECACHEDIR: join(dir, `cache-${Math.random()}`),
  },
  cleanup() {},
});

test("--oidc --groups engineers: the dev cluster only, and kubectl reaches it with the issuer's token", async () => {
  const tokenFile = join(dir, "dana.token");
  writeFileSync(tokenFile, await signIdToken({ email: "dana@example.com", groups: ["engineers"] }));
  const file = join(dir, "eng.kubeconfig");
  fakePlugin(tokenFile, "kubectl-oidc_login");
  const r = await oidcKubeconfig(
    "--groups",
    "engineers",
    "--extra-scope",
    "groups",
    "--proxy",
    proxy(),
    "--out",
    file,
  );
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const doc = parse(readFileSync(file, "utf8"));
  expect(doc.contexts.map((c: { name: string }) => c.name)).toEqual(["dev-a"]);
  expect(doc.users).toEqual([
    {
      name: `kubeport-oidc-${new URL(issuerUrl).host}`,
      user: {
        exec: expect.objectContaining({
          apiVersion: "client.authentication.k8s.io/v1beta1",
          command: "kubectl",
          args: [
            "oidc-login",
            "get-token",
            // As the discovery document has it (kubelogin compares byte for byte), not as configured.
            `--oidc-issuer-url=${issuerUrl}/`,
            "--oidc-client-id=kubeport-cli",
            "--oidc-extra-scope=groups",
            "--oidc-extra-scope=email",
          ],
        }),
      },
    },
  ]);

  const got = await kubectl(kubectlWith(file), ["get", "pods", "-n", "default"]);
  expect(got.stderr).toBe("");
  expect(got.code).toBe(0);
  expect(got.stdout).toContain("web-0");
  // kubectl ran its oidc-login plugin with the args written; the cluster saw dana (named with the
  // issuer, as configured) with the dev role's group and her own, prefixed the same way.
  expect(readFileSync(join(dir, "plugin-args"), "utf8")).toContain(`--oidc-issuer-url=${issuerUrl}/`);
  const list = sims.dev
    .requests()
    .filter((q) => q.path === "/api/v1/namespaces/default/pods")
    .at(-1)!;
  expect(list).toMatchObject({ user: `${issuerUrl}#dana@example.com`, status: 200 });
  expect(list.groups).toEqual(["developers", `${issuerUrl}#engineers`, "system:authenticated"]);
}, 60_000);

test("--oidc without --groups: every served cluster, a note, and the gateway still decides per person", async () => {
  const tokenFile = join(dir, "erin.token");
  writeFileSync(tokenFile, await signIdToken({ email: "erin@example.com", groups: ["engineers"] }));
  const file = join(dir, "all.kubeconfig");
  const r = await oidcKubeconfig("--exec-command", fakePlugin(tokenFile), "--proxy", proxy(), "--out", file);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("note: a context for every served cluster");
  const doc = parse(readFileSync(file, "utf8"));
  expect(doc.contexts.map((c: { name: string }) => c.name)).toEqual(["dev-a", "prod-a"]);
  // erin's groups reach dev only: prod answers 403 through the same kubeconfig.
  const env = kubectlWith(file);
  expect((await kubectl(env, ["--context", "dev-a", "get", "pods"])).code).toBe(0);
  const prod = await kubectl(env, ["--context", "prod-a", "get", "pods"]);
  expect(prod.code).not.toBe(0);
  expect(prod.stderr).toMatch(/Forbidden|forbidden/);
}, 60_000);

test("--oidc mistakes are usage errors or name the issue", async () => {
  const run = (...args: string[]) => runCliCaptured(["kubeconfig", "-c", gw.configPath, ...args]);
  const usage = async (args: string[], message: string) => {
    const r = await run(...args);
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(2);
  };
  await usage(["--oidc", "--user", "alice"], "--user and --oidc exclude each other");
  await usage(["--oidc", "--groups", ""], "--groups needs a value");
  await usage(["--oidc", "--exec-command", ""], "--exec-command needs a value");
  expect((await run("--groups", "sre", "--user", "alice")).stderr).toContain("--groups goes with --oidc");
  expect((await run("--oidc", "--ttl", "1h")).stderr).toContain("--ttl goes with --user");
  expect((await run("--oidc", "--issuer", "https://elsewhere.example")).stderr).toContain(
    "--issuer https://elsewhere.example is not in proxy_service.oidc",
  );
  const none = await run("--oidc", "--groups", "nobody");
  expect(none.code).not.toBe(0);
  expect(none.stderr).toContain("groups nobody may reach none of the 2 served clusters (roles: none)");
});

test("a kubectl given by path still runs oidc-login; any other plugin gets get-token first", async () => {
  const argsFor = async (command: string) => {
    const r = await oidcKubeconfig("--groups", "sre", "--exec-command", command);
    expect(r.code).toBe(0);
    const doc = parse(r.stdout);
    expect(doc.users[0].user.token).toBeUndefined();
    return doc.users[0].user.exec.args.slice(0, 2);
  };
  expect(await argsFor("/usr/local/bin/kubectl")).toEqual(["oidc-login", "get-token"]);
  expect(await argsFor("kubelogin")).toEqual(["get-token", `--oidc-issuer-url=${issuerUrl}/`]);
});

test("an issuer whose discovery document cannot be read: the configured URL, and a note saying why", async () => {
  const got = await discoveredIssuer(
    {
      issuer_url: "http://127.0.0.1:1",
      audience: "x",
      username_claim: "email",
      groups_claim: "groups",
      groups_to_roles: {},
    },
    1000,
  );
  expect(got.issuer).toBe("http://127.0.0.1:1");
  expect(got.note).toStartWith("could not read http://127.0.0.1:1/.well-known/openid-configuration");
});
