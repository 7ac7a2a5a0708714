// The auth CLI end to end through runCli on a real SQLite registry: users, auth sign/rotate,
// kubeconfig (one context per visible cluster, the gateway CA, mode 0600) and audit tail.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { statSync, writeFileSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { AUDIT_STREAM } from "../../src/audit/index.ts";
import { runCli } from "../../src/cli/index.ts";
import { createAuditSink, createAuthenticator } from "../../src/gateway/index.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { createCa } from "../../src/lib/x509.ts";
import {
  type KubeCluster,
  openSqliteBackend,
  type Role,
  type SqliteBackend,
} from "../../src/registry/index.ts";
import { runCliCaptured, spawnCaptured, tempConfig } from "../helpers/cli.ts";

const PUBLIC_ADDR = "gw.kubeport.test:3443";
const { dir, cfg, remove } = tempConfig("kubeport-auth-cli-", (d) =>
  [
    "version: v1",
    "kubeport:",
    `  data_dir: ${d}`,
    "proxy_service:",
    "  enabled: true",
    `  public_addr: ${PUBLIC_ADDR}`,
    "kubernetes_service:",
    "  enabled: true",
    "  resources:",
    '    - labels: { "*": "*" }',
    "",
  ].join("\n"),
);
let backend: SqliteBackend;
let caPem: string;

const cli = (...argv: string[]) => runCliCaptured(argv);

const cluster = (name: string, labels: Record<string, string>): KubeCluster => ({
  kind: "kube_cluster",
  version: "v1",
  metadata: { name, labels },
  spec: { endpoint: `https://${name}.eks.test`, auth: "eks" },
});
const role = (name: string, spec: Role["spec"]): Role => ({
  kind: "role",
  version: "v1",
  metadata: { name },
  spec,
});

beforeAll(async () => {
  await mkdir(join(dir, "tls"), { recursive: true });
  caPem = (await createCa("test gateway CA", 1)).certPem;
  writeFileSync(join(dir, "tls", "ca.pem"), caPem);
  backend = openSqliteBackend({ path: join(dir, "registry.db"), pollMs: 20 });
  for (const c of [
    cluster("dev-b", { env: "dev" }),
    cluster("dev-a", { env: "dev" }),
    cluster("prod-1", { env: "prod" }),
    cluster("stage-1", { env: "stage" }),
  ]) {
    await backend.put(c);
  }
  await backend.put(
    role("dev", {
      allow: { kubernetes_labels: { env: ["dev", "stage"] }, kubernetes_groups: ["developers"] },
    }),
  );
  await backend.put(role("no-stage", { allow: {}, deny: { kubernetes_labels: { env: "stage" } } }));
});
afterAll(async () => {
  await backend.close();
  remove();
});

describe("users", () => {
  test("add refuses unknown roles, then creates; ls lists; rm deletes", async () => {
    const bad = await cli("ctl", "-c", cfg, "users", "add", "alice", "--roles", "dev,ghost");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('role "ghost" not found');
    expect((await cli("ctl", "-c", cfg, "users", "add", "alice", "--roles", "dev")).code).toBe(0);
    expect((await cli("ctl", "-c", cfg, "users", "add", "alice", "--roles", "dev")).stderr).toMatch(
      /already exists/,
    );
    expect((await cli("ctl", "-c", cfg, "users", "add", "temp", "--roles", "dev")).code).toBe(0);
    const ls = await cli("ctl", "-c", cfg, "users", "ls");
    expect(ls.stdout).toMatch(/^USER\s+ROLES\s+AGE\n-+/);
    expect(ls.stdout).toMatch(/alice\s+dev\s/);
    expect((await cli("ctl", "-c", cfg, "users", "rm", "temp")).stdout).toContain(
      'User "temp" has been deleted.',
    );
    expect((await cli("ctl", "-c", cfg, "users", "rm", "temp")).code).toBe(1);
    expect((await cli("ctl", "-c", cfg, "users", "add")).code).toBe(2);
  });
});

describe("auth", () => {
  test("sign prints a JWT the gateway's authenticator accepts; rotate keeps it valid", async () => {
    const auth = createAuthenticator({ backend, issuer: `https://${PUBLIC_ADDR}`, log: silentLogger });
    try {
      const signed = await cli("ctl", "-c", cfg, "auth", "sign", "--user", "alice", "--ttl", "1h");
      expect(signed.code).toBe(0);
      const token = signed.stdout.trim();
      const id = await auth.authenticate(`Bearer ${token}`);
      expect(id).toMatchObject({ user: "alice", roles: ["dev"], source: "kubeport" });
      expect(id.expiresAt! - Date.now()).toBeGreaterThan(59 * 60_000);

      const rotated = await cli("ctl", "-c", cfg, "auth", "rotate");
      expect(rotated.stdout).toMatch(
        /New signing key sk-\d+ .* is active\.\nKey sk-\d+ .* is retired; it verifies until /,
      );
      expect((await auth.authenticate(`Bearer ${token}`)).user).toBe("alice");
      const jwks = JSON.parse((await cli("ctl", "-c", cfg, "auth", "jwks")).stdout) as {
        keys: { d?: string }[];
      };
      expect(jwks.keys.length).toBe(2);
      expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);

      expect((await cli("ctl", "-c", cfg, "auth", "sign", "--user", "nobody")).stderr).toContain(
        'user "nobody" does not exist',
      );
      expect((await cli("ctl", "-c", cfg, "auth", "sign", "--user", "alice", "--ttl", "99h")).code).toBe(2);
    } finally {
      auth.close();
    }
  });
});

describe("auth sign under proxy_service.max_token_ttl", () => {
  test("signs no token the gateway would refuse: --ttl over the cap is a usage error naming it; the default shrinks to it", async () => {
    const capped = join(dir, "capped.yaml");
    writeFileSync(
      capped,
      (await readFile(cfg, "utf8")).replace(
        "  enabled: true\n  public_addr",
        "  enabled: true\n  max_token_ttl: 2h\n  public_addr",
      ),
    );
    const over = await cli("ctl", "-c", capped, "auth", "sign", "--user", "alice", "--ttl", "3h");
    expect(over.code).toBe(2);
    expect(over.stderr).toContain(
      "--ttl: at most 2h (proxy_service.max_token_ttl: the gateway refuses longer tokens)",
    );
    const plain = await cli("ctl", "-c", capped, "auth", "sign", "--user", "alice");
    expect(plain.code).toBe(0);
    const claims = JSON.parse(Buffer.from(plain.stdout.trim().split(".")[1]!, "base64url").toString()) as {
      iat: number;
      exp: number;
    };
    expect(claims.exp - claims.iat).toBe(2 * 3600);
  });
});

describe("kubeconfig", () => {
  test("one context per visible cluster, gateway CA, user token, current = first; file mode 0600", async () => {
    const out = join(dir, "alice.kubeconfig");
    writeFileSync(out, "old", { mode: 0o644 });
    const res = await cli("kubeconfig", "-c", cfg, "--user", "alice", "--out", out);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const kc = parse(await readFile(out, "utf8"));
    // dev role reaches env=dev and env=stage, not prod.
    expect(kc.contexts.map((c: { name: string }) => c.name)).toEqual(["dev-a", "dev-b", "stage-1"]);
    expect(kc["current-context"]).toBe("dev-a");
    expect(kc.clusters[0]).toEqual({
      name: "dev-a",
      cluster: {
        server: `https://${PUBLIC_ADDR}/v1/clusters/dev-a`,
        "certificate-authority-data": Buffer.from(caPem).toString("base64"),
      },
    });
    expect(kc.contexts[2]).toEqual({
      name: "stage-1",
      context: { cluster: "stage-1", user: "kubeport-alice" },
    });
    const auth = createAuthenticator({ backend, issuer: `https://${PUBLIC_ADDR}`, log: silentLogger });
    try {
      expect((await auth.authenticate(`Bearer ${kc.users[0].user.token}`)).user).toBe("alice");
    } finally {
      auth.close();
    }
  });

  test("a deny role hides clusters; --cluster picks one; an unreachable cluster is refused", async () => {
    expect((await cli("ctl", "-c", cfg, "users", "add", "bob", "--roles", "dev,no-stage")).code).toBe(0);
    const all = parse((await cli("kubeconfig", "-c", cfg, "--user", "bob")).stdout);
    expect(all.contexts.map((c: { name: string }) => c.name)).toEqual(["dev-a", "dev-b"]);
    const one = parse((await cli("kubeconfig", "-c", cfg, "--user", "bob", "--cluster", "dev-b")).stdout);
    expect(one.contexts.map((c: { name: string }) => c.name)).toEqual(["dev-b"]);
    const refused = await cli("kubeconfig", "-c", cfg, "--user", "bob", "--cluster", "stage-1");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('may not reach cluster "stage-1"');
  });

  test("kubectl reads the kubeconfig", async () => {
    const file = join(dir, "alice-kubectl.kubeconfig");
    expect((await cli("kubeconfig", "-c", cfg, "--user", "alice", "--out", file)).code).toBe(0);
    const contexts = ["kubectl", "config", "get-contexts", "-o", "name", "--kubeconfig", file];
    const { code, stdout: text } = await spawnCaptured(contexts, { timeoutMs: 15_000 });
    expect(code).toBe(0);
    expect(text.trim().split("\n")).toEqual(["dev-a", "dev-b", "stage-1"]);
  }, 60_000);

  test("a user whose roles reach nothing, and a gateway serving nothing, are told apart", async () => {
    expect((await cli("ctl", "-c", cfg, "users", "add", "carl", "--roles", "no-stage")).code).toBe(0);
    const none = await cli("kubeconfig", "-c", cfg, "--user", "carl");
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('user "carl" may reach none of the 4 served clusters (roles: no-stage)');
    const cfg3 = join(dir, "serves-nothing.yaml");
    writeFileSync(
      cfg3,
      `version: v1\nkubeport:\n  data_dir: ${dir}\nproxy_service:\n  public_addr: ${PUBLIC_ADDR}\n`,
    );
    const nothing = await cli("kubeconfig", "-c", cfg3, "--user", "alice");
    expect(nothing.stderr).toContain("the gateway serves none of the 4 registered clusters");
  });

  test("without the gateway CA it says where it looked and what to do", async () => {
    const cfg2 = join(dir, "no-ca.yaml");
    const dir2 = join(dir, "empty");
    writeFileSync(
      cfg2,
      `version: v1\nkubeport:\n  data_dir: ${dir2}\n  storage:\n    path: ${join(dir, "registry.db")}\nproxy_service:\n  public_addr: ${PUBLIC_ADDR}\n`,
    );
    const res = await cli("kubeconfig", "-c", cfg2, "--user", "alice");
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`no gateway CA at ${join(dir2, "tls", "ca.pem")}`);
    expect(res.stderr).toContain("--ca-file");
  });

  test("a --ca-file that is not a PEM certificate names the flag, the file and the problem", async () => {
    const bad = join(dir, "not-a-ca.pem");
    writeFileSync(bad, "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n");
    const res = await cli("kubeconfig", "-c", cfg, "--user", "alice", "--ca-file", bad);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toBe(
      `error: --ca-file: ${bad} is a damaged PEM certificate: its certificate does not parse as X.509\n`,
    );
  });
});

describe("audit tail", () => {
  test("prints the last N events, then follows new ones", async () => {
    const sink = createAuditSink({ backend, log: silentLogger, flushMs: 20 });
    const ev = (i: number) => ({
      event: "kube.request" as const,
      code: "T3009I",
      time: `2026-01-01T00:00:0${i}.000Z`,
      uid: `u${i}`,
      user: "alice",
      roles: ["dev"],
      kubernetes_cluster: "dev-a",
      verb: "GET",
      kube_verb: "list",
      request_path: "/api/v1/namespaces/default/pods",
      resource_kind: "pods",
      resource_namespace: "default",
      response_code: 200,
      latency_ms: i,
      bytes_out: 100,
      kubectl_command: "kubectl get",
      "addr.remote": "10.0.0.7:5123",
    });
    for (let i = 0; i < 5; i++) sink.emit(ev(i));
    const sid = "0190c0de-0000-7000-8000-000000000001";
    sink.emit({
      event: "session.end",
      code: "T2004I",
      time: "2026-01-01T00:00:09.000Z",
      uid: "e",
      sid,
      ei: 3,
      user: "alice",
      kubernetes_cluster: "dev-a",
      kubernetes_pod_namespace: "default",
      kubernetes_pod_name: "web",
      session_type: "exec",
      interactive: false,
      participants: ["alice"],
      session_start: "2026-01-01T00:00:08.988Z",
      session_stop: "2026-01-01T00:00:09.000Z",
      initial_command: ["sh", "-c", "ls"],
      session_recording: "best_effort",
      duration_ms: 12,
    });
    await sink.flush();
    const last = await cli("ctl", "-c", cfg, "audit", "tail", "-n", "3");
    expect(last.stdout.trim().split("\n")).toEqual([
      '2026-01-01T00:00:03.000Z T3009I kube.request alice dev-a GET /api/v1/namespaces/default/pods 200 3ms cmd="kubectl get" from=10.0.0.7:5123',
      '2026-01-01T00:00:04.000Z T3009I kube.request alice dev-a GET /api/v1/namespaces/default/pods 200 4ms cmd="kubectl get" from=10.0.0.7:5123',
      `2026-01-01T00:00:09.000Z T2004I session.end alice dev-a sid=${sid} exec default/web 12ms`,
    ]);

    const ac = new AbortController();
    let followed = "";
    const running = runCli(["ctl", "-c", cfg, "audit", "tail", "-n", "0", "--follow", "--format", "json"], {
      stdout: (t) => {
        followed += t;
      },
      stderr: () => {},
      env: {},
      signal: ac.signal,
    });
    await Bun.sleep(100);
    sink.emit(ev(7));
    await sink.flush();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !followed.includes("\n")) await Bun.sleep(50);
    ac.abort();
    expect(await running).toBe(0);
    expect(JSON.parse(followed.trim())).toMatchObject({
      event: "kube.request",
      latency_ms: 7,
      kubernetes_cluster: "dev-a",
    });
    await sink.close();
    expect((await backend.readStream(AUDIT_STREAM)).length).toBe(7);
  }, 60_000);
});
