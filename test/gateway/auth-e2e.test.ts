// Real kubectl through a real gateway with the default authenticator, role authorizer and audit sink:
// a user and a kubeconfig made by the CLI, impersonation from roles, deletion revokes, audit recorded.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { AUDIT_STREAM } from "../../src/audit/index.ts";
import { loadConfig } from "../../src/config/index.ts";
import { createGateway, type Gateway, staticCredentials } from "../../src/gateway/index.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { openSqliteBackend, type SqliteBackend } from "../../src/registry/index.ts";
import { runCliCaptured, spawnCaptured, tempConfig } from "../helpers/cli.ts";
import { cluster, startUpstream, testGatewayConfig, type Upstream } from "./fixture.ts";

const { dir, cfg, remove } = tempConfig("kubeport-auth-e2e-", testGatewayConfig);
let backend: SqliteBackend;
let upstream: Upstream;
let gateway: Gateway;
let proxyAddr: string;

const cli = (...argv: string[]) => runCliCaptured(argv);

/** Runs kubectl with a kubeconfig, bounded in time. */
async function kubectl(kubeconfig: string, ...args: string[]) {
  return spawnCaptured(["kubectl", "--kubeconfig", kubeconfig, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, KUBECACHEDIR: join(dir, "kcache") },
    timeoutMs: 20_000,
  });
}

beforeAll(async () => {
  const config = await loadConfig(cfg, { env: {} });
  backend = openSqliteBackend({ path: config.kubeport.storage.path, pollMs: 20 });
  upstream = await startUpstream();
  await backend.put(cluster("dev-1", upstream.url, upstream.caPem, { env: "dev" }));
  await backend.put(cluster("prod-1", upstream.url, upstream.caPem, { env: "prod" }));
  await backend.put({
    kind: "role",
    version: "v1",
    metadata: { name: "dev" },
    spec: {
      allow: {
        kubernetes_labels: { env: "dev" },
        kubernetes_groups: ["developers"],
        kubernetes_users: ["dev-sa"],
      },
    },
  });
  gateway = await createGateway({
    config,
    backend,
    log: silentLogger,
    credentials: staticCredentials("upstream-secret"),
  });
  proxyAddr = `127.0.0.1:${gateway.port}`;
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
  await backend?.close();
  remove();
});

describe("kubectl with a kubeport kubeconfig", () => {
  test("reaches the allowed cluster as the role's user and groups; the other cluster is not in the kubeconfig", async () => {
    expect((await cli("ctl", "-c", cfg, "users", "add", "alice", "--roles", "dev")).code).toBe(0);
    const file = join(dir, "alice.kubeconfig");
    const made = await cli("kubeconfig", "-c", cfg, "--user", "alice", "--proxy", proxyAddr, "--out", file);
    expect(made.stderr).toBe("");
    const kc = parse(await Bun.file(file).text());
    expect(kc.contexts.map((c: { name: string }) => c.name)).toEqual(["dev-1"]);

    // (`get --raw /path` would drop the server URL's path prefix; `version` goes through it.)
    const res = await kubectl(file, "version", "-o", "json");
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).serverVersion.gitVersion).toBe("v1.32.4");
    // kubectl's request, not the gateway's own health check (GET /version too, on a timer).
    const seen = upstream.proxied().findLast((r) => r.target.startsWith("/version"))!;
    expect(seen.headers.get("authorization")).toBe("Bearer upstream-secret");
    expect(seen.headers.get("impersonate-user")).toBe("dev-sa");
    expect(seen.headers.get("impersonate-group")).toContain("developers");

    // The audit event reaches the registry stream and `ctl audit tail`.
    const deadline = Date.now() + 5000;
    let tail = "";
    while (Date.now() < deadline && !tail.includes(" alice dev-1 ")) {
      tail = (await cli("ctl", "-c", cfg, "audit", "tail", "-n", "20")).stdout;
      await Bun.sleep(100);
    }
    expect(tail).toMatch(/ kube.request alice dev-1 GET \S+ 200 /);
    expect((await backend.readStream(AUDIT_STREAM)).length).toBeGreaterThan(0);
  }, 60_000);

  test("a cluster the roles do not allow is refused even with a hand-edited server URL", async () => {
    const file = join(dir, "alice-prod.kubeconfig");
    await cli("kubeconfig", "-c", cfg, "--user", "alice", "--proxy", proxyAddr, "--out", file);
    const text = (await Bun.file(file).text()).replace("/v1/clusters/dev-1", "/v1/clusters/prod-1");
    writeFileSync(file, text, { mode: 0o600 });
    const res = await kubectl(file, "version", "-o", "json");
    expect(res.code).not.toBe(0);
    expect(res.stderr.toLowerCase()).toMatch(/forbidden|not found/);
  }, 60_000);

  test("deleting the user revokes the kubeconfig's token", async () => {
    expect((await cli("ctl", "-c", cfg, "users", "add", "bob", "--roles", "dev")).code).toBe(0);
    const file = join(dir, "bob.kubeconfig");
    await cli("kubeconfig", "-c", cfg, "--user", "bob", "--proxy", proxyAddr, "--out", file);
    expect((await kubectl(file, "version", "-o", "json")).code).toBe(0);
    expect((await cli("ctl", "-c", cfg, "users", "rm", "bob")).code).toBe(0);
    await Bun.sleep(200); // the gateway's user cache follows the registry's change feed
    const res = await kubectl(file, "version", "-o", "json");
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/must be logged in|Unauthorized/);
  }, 60_000);
});
