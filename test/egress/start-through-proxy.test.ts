// `kubeport start` with HTTPS_PROXY/HTTP_PROXY set and no NO_PROXY: every outbound connection goes
// through the proxy — discovery's AWS calls, the gateway's requests with one group (fetch) and with
// two (node:https), exec (the WebSocket client), health checks, OIDC discovery and JWKS. What reached
// the simulated API server is matched, connection by connection, against the proxy's log. Then the
// same against a dead proxy: every kind fails with an error naming the proxy.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { SignJWT } from "jose";
import { type KubeSim, type Simulation, startSimulation } from "../../src/sim/index.ts";
import { startTestIdp, type TestIdp } from "../gateway/fixture.ts";
import { runCliCaptured } from "../helpers/cli.ts";
import { type ConnectProxy, deadProxyUrl, startConnectProxy } from "../helpers/connect-proxy.ts";
import { kubectl, kubectlEnv } from "../helpers/kubectl.ts";
import { freePort } from "../helpers/redis.ts";

const ROOT = resolve(import.meta.dir, "../..");
let dir: string;
let sim: Simulation;
let kube: KubeSim;
let idp: TestIdp;
let proxy: ConnectProxy;
let dead: string;

interface Kubeport {
  cfg: string;
  url: string;
  caPem: string;
  proc: Subprocess<"ignore", "ignore", "pipe">;
  stderr: () => string;
}
const running: Kubeport[] = [];

const ROLES = [
  "kind: role\nversion: v1\nmetadata: { name: one-group }\nspec: { allow: { kubernetes_labels: { '*': '*' }, kubernetes_groups: [system:masters] } }",
  "kind: role\nversion: v1\nmetadata: { name: two-groups }\nspec: { allow: { kubernetes_labels: { '*': '*' }, kubernetes_groups: [system:masters, viewers] } }",
].join("\n---\n");

function config(name: string, port: number): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const cfg = join(d, "kubeport.yaml");
  writeFileSync(
    cfg,
    [
      "version: v1",
      `kubeport: { data_dir: ${join(d, "data")}, log: { severity: INFO, format: json } }`,
      "proxy_service:",
      "  enabled: yes",
      `  listen_addr: 127.0.0.1:${port}`,
      "  oidc:",
      `    - { issuer_url: "${idp.issuerUrl}", audience: kubeport, groups_to_roles: { eng: [one-group] } }`,
      "discovery_service:",
      "  enabled: yes",
      "  discovery_group: egress",
      "  aws: [{ types: [eks], regions: [us-east-1], tags: { '*': '*' } }]",
      "kubernetes_service: { enabled: yes, resources: [{ labels: { '*': '*' } }] }",
      "",
    ].join("\n"),
  );
  return cfg;
}

const ctl = async (cfg: string, ...args: string[]) => {
  const r = await runCliCaptured(["ctl", "-c", cfg, ...args]);
  if (r.code !== 0) throw new Error(`ctl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

/** Polls `check` (which throws or returns false while not there yet) for up to 60 s. */
async function eventually<T>(what: string, check: () => Promise<T | false | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}${last ? `: ${(last as Error).message}` : ""}`);
    await Bun.sleep(200);
  }
}

/** Seeds roles and users, then starts `kubeport start` with the given proxy variables. */
async function startKubeport(name: string, proxyUrl: string): Promise<Kubeport> {
  const port = freePort();
  const cfg = config(name, port);
  const rolesFile = join(dir, `${name}-roles.yaml`);
  writeFileSync(rolesFile, ROLES);
  await ctl(cfg, "create", "-f", rolesFile);
  await ctl(cfg, "users", "add", "one", "--roles", "one-group");
  await ctl(cfg, "users", "add", "two", "--roles", "two-groups");
  let err = "";
  const proc = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), "start", "-c", cfg], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dir,
      ...sim.aws.env,
      AWS_EC2_METADATA_DISABLED: "true",
      HTTPS_PROXY: proxyUrl,
      HTTP_PROXY: proxyUrl,
    },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  void (async () => {
    for await (const c of proc.stderr) err += new TextDecoder().decode(c);
  })();
  const caPath = join(dir, name, "data", "tls", "ca.pem");
  const caPem = await eventually(`${name}: the gateway CA never appeared (stderr: ${err})`, async () =>
    readFileSync(caPath, "utf8"),
  );
  const kp: Kubeport = { cfg, url: `https://127.0.0.1:${port}`, caPem, proc, stderr: () => err };
  running.push(kp);
  await eventually(
    `${name}: the gateway never answered /healthz`,
    async () => (await fetch(`${kp.url}/healthz`, { tls: { ca: caPem }, proxy: false })).ok,
  );
  return kp;
}

const userKubectl = async (kp: Kubeport, user: string, args: string[]) => {
  const token = (await ctl(kp.cfg, "auth", "sign", "--user", user, "--ttl", "10m")).trim();
  const env = kubectlEnv({ server: `${kp.url}/v1/clusters/alpha`, token, caPem: kp.caPem });
  try {
    return await kubectl(env, args);
  } finally {
    env.cleanup();
  }
};

const oidcToken = () => {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: idp.issuerUrl,
    aud: "kubeport",
    sub: "o-1",
    email: "o@example.com",
    groups: ["eng"],
    iat: now,
    exp: now + 600,
  })
    .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
    .sign(idp.privateKey);
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kp-egress-"));
  sim = await startSimulation({ clusters: [{ name: "alpha", region: "us-east-1", tags: { env: "prod" } }] });
  kube = [...sim.kube.values()][0]!;
  idp = await startTestIdp();
  proxy = await startConnectProxy();
  dead = await deadProxyUrl();
}, 60_000);

afterAll(async () => {
  for (const kp of running) {
    kp.proc.kill("SIGTERM");
    await Promise.race([kp.proc.exited, Bun.sleep(10_000)]);
    kp.proc.kill("SIGKILL");
  }
  await proxy?.stop();
  idp?.stop();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("through a live proxy", () => {
  let kp: Kubeport;
  beforeAll(async () => {
    kp = await startKubeport("live", proxy.url);
    await eventually("discovery never registered alpha", async () =>
      (await ctl(kp.cfg, "get", "kube_cluster")).includes("alpha"),
    );
    // The registry has alpha once discovery wrote it; the gateway serves it once its own cache
    // followed (CI under load: kubectl ran in between and got "kube_cluster alpha not found").
    await eventually("the gateway never served alpha", async () => {
      const r = await userKubectl(kp, "one", ["get", "pods", "-o", "name"]);
      return r.stderr === "" && r.stdout.includes("pod/web-0");
    });
  }, 120_000);

  /** The simulator's requests matching `pick`, each with whether it came on a proxy connection. */
  const reached = (pick: (q: ReturnType<KubeSim["requests"]>[number]) => boolean) =>
    kube
      .requests()
      .filter(pick)
      .map((q) => ({ path: q.path, viaProxy: proxy.upstreamPorts().has(q.clientPort ?? -1) }));

  test("discovery's AWS calls (EKS, STS) went through HTTP_PROXY to the AWS endpoint", () => {
    const awsPort = new URL(sim.aws.url).port;
    expect(
      proxy.log.filter((e) => e.target.includes(`127.0.0.1:${awsPort}`) && e.status === 200).length,
    ).toBeGreaterThan(0);
  });

  test("a request with one group (fetch) and one with two (node:https) reached the cluster through the proxy", async () => {
    const one = await userKubectl(kp, "one", ["get", "pods", "-o", "name"]);
    expect(one.stderr, kp.stderr().slice(-4000)).toBe("");
    expect(one.stdout).toContain("pod/web-0");
    const two = await userKubectl(kp, "two", ["get", "pods", "-o", "name"]);
    expect(two.stderr).toBe("");
    expect(two.stdout).toContain("pod/web-0");
    const pods = (user: string) =>
      reached((q) => q.user === user && q.path === "/api/v1/namespaces/default/pods");
    expect(pods("one").length).toBeGreaterThan(0);
    expect(pods("two").length).toBeGreaterThan(0);
    expect([...pods("one"), ...pods("two")].every((r) => r.viaProxy)).toBe(true);
    expect(kube.requests().find((q) => q.user === "two")?.groups).toEqual(
      expect.arrayContaining(["system:masters", "viewers"]),
    );
  }, 60_000);

  test("exec (the upstream WebSocket) went through the proxy", async () => {
    const r = await userKubectl(kp, "one", ["exec", "web-0", "--", "echo", "through the tunnel"]);
    expect(r.stdout).toBe("through the tunnel\n");
    const execs = reached((q) => q.user === "one" && q.path.endsWith("/exec"));
    expect(execs.length).toBeGreaterThan(0);
    expect(
      execs.every((r) => r.viaProxy),
      JSON.stringify({
        execs: kube.requests().filter((q) => q.path.endsWith("/exec")),
        log: proxy.log.slice(-5),
      }),
    ).toBe(true);
  }, 60_000);

  test("the health checks (GET /version, SelfSubjectAccessReview) went through the proxy", async () => {
    const checks = await eventually("no health check reached the cluster", async () => {
      const found = reached(
        (q) => !q.impersonatedBy && q.path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
      );
      return found.length ? found : false;
    });
    expect(checks.every((r) => r.viaProxy)).toBe(true);
  }, 90_000);

  test("OIDC discovery and the JWKS were fetched through the proxy", async () => {
    const res = await fetch(`${kp.url}/v1/clusters/alpha/version`, {
      headers: { authorization: `Bearer ${await oidcToken()}` },
      tls: { ca: kp.caPem },
      proxy: false,
    });
    await res.body?.cancel();
    expect(res.status).toBe(200);
    const idpOrigin = idp.issuerUrl;
    expect(proxy.log.map((e) => e.target)).toEqual(
      expect.arrayContaining([`${idpOrigin}/.well-known/openid-configuration`, `${idpOrigin}/keys`]),
    );
    expect(idp.hits.discovery).toBeGreaterThan(0);
  }, 60_000);
});

describe("through a dead proxy", () => {
  let kp: Kubeport;
  const named = () => `proxy ${dead} (HTTPS_PROXY)`;
  beforeAll(async () => {
    kp = await startKubeport("dead", dead);
    // Discovery cannot reach AWS: register the cluster by hand, as discovery would have.
    const file = join(dir, "alpha.yaml");
    writeFileSync(
      file,
      [
        "kind: kube_cluster",
        "version: v1",
        "metadata: { name: alpha, labels: { env: prod } }",
        "spec:",
        `  endpoint: ${kube.endpoint}`,
        `  ca_data: ${kube.caData}`,
        "  auth: eks",
        `  aws: { region: us-east-1, account_id: "111111111111", name: alpha, arn: "${kube.clusterArn}" }`,
        "",
      ].join("\n"),
    );
    await ctl(kp.cfg, "create", "-f", file);
  }, 120_000);

  test("discovery reports AWS unreachable, naming the proxy", async () => {
    const out = await eventually("discovery status never showed the proxy", async () => {
      const s = await ctl(kp.cfg, "discovery", "status", "--errors");
      return s.includes(`proxy ${dead} (HTTP_PROXY)`) ? s : false;
    });
    expect(out).toContain("cannot reach the proxy: connection refused");
  }, 90_000);

  /** The gateway's answer to `user` for `path` on alpha (a WebSocket upgrade when `upgrade`). */
  const answer = async (user: string, path: string, upgrade = false) => {
    const token = (await ctl(kp.cfg, "auth", "sign", "--user", user, "--ttl", "10m")).trim();
    const res = await fetch(`${kp.url}/v1/clusters/alpha${path}`, {
      headers: {
        authorization: `Bearer ${token}`,
        ...(upgrade
          ? {
              connection: "Upgrade",
              upgrade: "websocket",
              "sec-websocket-version": "13",
              "sec-websocket-key": btoa("0123456789abcdef"),
              "sec-websocket-protocol": "v5.channel.k8s.io",
            }
          : {}),
      },
      tls: { ca: kp.caPem },
      proxy: false,
    });
    return { status: res.status, message: ((await res.json()) as { message?: string }).message ?? "" };
  };

  test.each([
    ["one group (fetch)", "one", "/api/v1/namespaces/default/pods", false],
    ["two groups (node:https)", "two", "/api/v1/namespaces/default/pods", false],
    ["exec (WebSocket)", "one", "/api/v1/namespaces/default/pods/web-0/exec?command=echo&stdout=true", true],
  ])(
    "%s: the gateway's 502 names the proxy",
    async (_, user, path, upgrade) => {
      const got = await eventually("the gateway never served alpha", async () => {
        const a = await answer(user as string, path as string, upgrade as boolean);
        return a.status === 404 ? false : a;
      });
      expect(got.status).toBe(502);
      expect(got.message).toContain(named());
      expect(got.message).toContain("cannot reach the proxy: connection refused");
    },
    90_000,
  );

  test("health checks say the proxy cannot be reached", async () => {
    const rows = await eventually("no health result naming the proxy", async () => {
      const r = await runCliCaptured([
        "ctl",
        "-c",
        kp.cfg,
        "kube",
        "ls",
        "--gateway",
        kp.url,
        "--format",
        "json",
      ]);
      return r.stdout.includes(named()) ? r.stdout : false;
    });
    expect(rows).toContain("cannot reach the proxy");
  }, 90_000);

  test("an OIDC token cannot be checked: the answer names the proxy", async () => {
    const res = await fetch(`${kp.url}/v1/clusters/alpha/version`, {
      headers: { authorization: `Bearer ${await oidcToken()}` },
      tls: { ca: kp.caPem },
      proxy: false,
    });
    const body = (await res.json()) as { message?: string };
    expect(res.status).toBe(503);
    expect(body.message).toContain(`proxy ${dead} (HTTP_PROXY)`);
  }, 60_000);
});

test.each([
  [
    "HTTPS_PROXY",
    "socks5://proxy.corp:1080",
    "HTTPS_PROXY=socks5://proxy.corp:1080: only http:// proxies are supported",
  ],
  ["NO_PROXY", "10.0.0.0/33", 'NO_PROXY: cannot read "10.0.0.0/33"'],
])(
  "a %s kubeport cannot use stops `kubeport start` before anything starts (exit 2)",
  async (name, value, words) => {
    const cfg = join(dir, `bad-${name}.yaml`);
    writeFileSync(cfg, `version: v1\nkubeport: { data_dir: ${join(dir, `bad-${name}`)} }\n`);
    const p = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), "start", "-c", cfg], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: dir,
        HTTPS_PROXY: "http://proxy.corp:3128",
        [name]: value,
      },
      stdout: "ignore",
      stderr: "pipe",
    });
    const err = await new Response(p.stderr).text();
    expect(await p.exited).toBe(2);
    expect(err).toContain("error: invalid config environment: 1 problem");
    expect(err).toContain(words);
  },
  30_000,
);
