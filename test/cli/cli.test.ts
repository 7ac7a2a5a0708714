// The CLI in-process on a real SQLite registry: ctl get/rm/create, tokens, inventory, start, exit codes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../../src/lib/log.ts";
import { openSqliteBackend } from "../../src/registry/index.ts";
import { dataDirConfig, runCliCaptured, seedRegistry, tempConfig } from "../helpers/cli.ts";

const { dir, cfg, remove } = tempConfig("kp-cli-", (d) => dataDirConfig(d, "  log: { severity: ERROR }"));
// The registry `kubeport start` would have made: read-only commands refuse a missing one.
beforeAll(() => seedRegistry(join(dir, "data", "registry.db"), async () => {}));
afterAll(remove);

const cli = (args: string[], opts: { signal?: AbortSignal; env?: Record<string, string> } = {}) =>
  runCliCaptured(args, { env: { KUBEPORT_CONFIG: cfg, ...opts.env }, signal: opts.signal });

const CLUSTERS = `
kind: kube_cluster
version: v1
metadata:
  name: prod-a
  labels: { env: prod, kubeport.dev/origin: cloud }
spec:
  endpoint: https://a.example.com
  aws: { region: us-east-1, account_id: "111111111111", name: prod-a, created_at: "${new Date(Date.now() - 3 * 86_400_000 - 3_600_000).toISOString()}" }
---
kind: kube_cluster
version: v1
metadata: { name: dev-b, labels: { env: dev } }
spec: { endpoint: "https://b.example.com" }
`;

describe("exit codes", () => {
  test.each<[string, string[], number, string]>([
    [
      "unknown command",
      ["nope"],
      2,
      'error: unknown command "nope" for "kubeport"\nUsage: kubeport COMMAND [options]',
    ],
    ["unknown subcommand", ["ctl", "frob"], 2, 'unknown command "frob" for "kubeport ctl"'],
    ["unknown flag", ["ctl", "get", "kube_cluster", "--nope"], 2, "Unknown option '--nope'"],
    [
      "missing argument",
      ["ctl", "rm"],
      2,
      "error: missing KIND/NAME\nUsage: kubeport ctl rm [options] KIND/NAME",
    ],
    ["unknown kind", ["ctl", "get", "pods"], 2, 'unknown kind "pods"'],
    [
      "bad format",
      ["ctl", "get", "kube_cluster", "--format", "xml"],
      2,
      '--format: "xml" is not one of: json, yaml, wide, name',
    ],
    ["missing group command", ["ctl", "tokens"], 2, "error: missing command"],
    ["not found", ["ctl", "get", "kube_cluster", "nope"], 1, 'error: kube_cluster "nope" not found\n'],
    [
      "missing config",
      ["ctl", "-c", "/nonexistent.yaml", "get", "role"],
      2,
      "/nonexistent.yaml: 1 problem\n  file not found",
    ],
  ])("%s", async (_, args, code, message) => {
    const r = await cli(args);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
  });

  test("help goes to stdout with exit 0", async () => {
    const r = await cli(["ctl", "get", "-h"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toContain("Usage: kubeport ctl get [options] KIND[/NAME] [NAME]");
    expect(r.stdout).toContain("-c, --config FILE");
  });
});

describe("configure", () => {
  test("prints a config that loads, and --out writes it privately", async () => {
    const r = await cli(["configure", "--tags", "env=prod,team=a", "--regions", "eu-west-1"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '      regions: ["eu-west-1"]\n      tags:\n        "env": "prod"\n        "team": "a"\n',
    );
    const file = join(dir, "written.yaml");
    expect((await cli(["configure", "--out", file])).stderr).toBe(`wrote ${file}\n`);
    expect(await Bun.file(file).text()).toStartWith("# kubeport configuration");
    expect((await import("node:fs")).statSync(file).mode & 0o777).toBe(0o600);
  });

  test.each([
    [["--tags", "env"], '--tags: "env" is not key=value'],
    [["--tags", "env=^(prod$"], 'discovery_service.aws[0].tags.env: invalid regular expression "^(prod$"'],
    [["--listen-addr", "nowhere"], 'proxy_service.listen_addr: "nowhere" is not host:port'],
  ])("configure %p exits 2", async (args, message) => {
    const r = await cli(["configure", ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  test("help for an unknown command is a usage error", async () => {
    const r = await cli(["help", "nope"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "nope"');
  });
});

describe("ctl create, get, rm", () => {
  test("create -f takes several YAML documents, get prints the table", async () => {
    const file = join(dir, "clusters.yaml");
    writeFileSync(file, CLUSTERS);
    const created = await cli(["ctl", "create", "-f", file]);
    expect(created).toMatchObject({
      code: 0,
      stdout: 'kube_cluster "prod-a" has been created\nkube_cluster "dev-b" has been created\n',
    });
    const get = await cli(["ctl", "get", "kube_cluster"]);
    expect(get.stdout).toBe(
      [
        "NAME   LABELS   REGION    ACCOUNT      AGE",
        "------ -------- --------- ------------ ---",
        "dev-b  env=dev  -         -            -",
        "prod-a env=prod us-east-1 111111111111 3d",
        "",
      ].join("\n"),
    );
    const verbose = await cli(["ctl", "get", "kube_cluster", "-v"]);
    expect(verbose.stdout).toContain("env=prod,kubeport.dev/origin=cloud");
  });

  test("kube ls lists the served clusters without kubeport.dev/* labels unless -v", async () => {
    const served = join(dir, "served.yaml");
    writeFileSync(
      served,
      `version: v1\nkubeport:\n  data_dir: ${join(dir, "data")}\n  log: { severity: ERROR }\nkubernetes_service: { enabled: yes, resources: [{ labels: { env: prod } }] }\n`,
    );
    const ls = await cli(["ctl", "-c", served, "kube", "ls"]);
    expect(ls.code).toBe(0);
    expect(ls.stdout.split("\n").slice(2, -1)).toEqual(["prod-a env=prod -      -"]);
    // No signing key yet (no token was ever signed here), and kube ls does not create one.
    expect(ls.stderr).toContain("note: no active signing key in the registry to sign a status token");
    const verbose = await cli(["ctl", "-c", served, "kube", "ls", "-v"]);
    expect(verbose.stdout).toContain("env=prod,kubeport.dev/origin=cloud");
  });

  test("get NAME as yaml and json", async () => {
    const y = await cli(["ctl", "get", "kube_cluster/prod-a", "--format", "yaml"]);
    expect(y.stdout).toContain("kind: kube_cluster\nversion: v1\nmetadata:\n  name: prod-a\n");
    const j = await cli(["ctl", "get", "kube_cluster", "--format", "json"]);
    expect((JSON.parse(j.stdout) as { metadata: { name: string } }[]).map((r) => r.metadata.name)).toEqual([
      "dev-b",
      "prod-a",
    ]);
  });

  test("create refuses an existing resource without --force, replaces it with --force", async () => {
    const file = join(dir, "one.json");
    writeFileSync(
      file,
      JSON.stringify({
        kind: "role",
        version: "v1",
        metadata: { name: "dev" },
        spec: { allow: { kubernetes_groups: ["view"] } },
      }),
    );
    expect((await cli(["ctl", "create", "-f", file])).code).toBe(0);
    const again = await cli(["ctl", "create", "-f", file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('role "dev" already exists; use --force to overwrite');
    expect((await cli(["ctl", "create", "-f", file, "--force"])).code).toBe(0);
    expect((await cli(["ctl", "get", "role"])).stdout).toMatch(/^dev +- +view +-$/m);
  });

  test("create rejects an invalid resource naming the field", async () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(
      file,
      "kind: kube_cluster\nversion: v1\nmetadata: {name: x}\nspec: {endpoint: http://plain}\n",
    );
    const r = await cli(["ctl", "create", "-f", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("spec.endpoint: must be an https:// URL");
  });

  test("rm deletes, and a second rm is not found", async () => {
    expect((await cli(["ctl", "rm", "kube_cluster/dev-b"])).stdout).toBe(
      'kube_cluster "dev-b" has been deleted\n',
    );
    expect((await cli(["ctl", "rm", "kube_cluster/dev-b"])).code).toBe(1);
  });
});

describe("tokens and inventory", () => {
  test("tokens are stored by hash with roles and expiry", async () => {
    const add = await cli([
      "ctl",
      "tokens",
      "add",
      "--type=discovery,kube",
      "--ttl",
      "2h",
      "--format",
      "json",
    ]);
    const out = JSON.parse(add.stdout) as { token: string; id: string; roles: string[]; expires: string };
    expect(out.roles).toEqual(["discovery", "kube"]);
    expect(Date.parse(out.expires) - Date.now()).toBeGreaterThan(7_100_000);
    const stored = JSON.parse((await cli(["ctl", "get", "token", out.id, "--format", "json"])).stdout) as {
      spec: { hash: string };
    };
    expect(stored.spec.hash).toBe(new Bun.CryptoHasher("sha256").update(out.token).digest("hex"));
    expect(JSON.stringify(stored)).not.toContain(out.token);
    expect((await cli(["ctl", "tokens", "rm", out.id])).code).toBe(0);
  });

  test.each([
    [["--type=admin"], '--type: "admin" is not one of: discovery, kube, proxy'],
    [[], "missing --type"],
    [["--type=kube", "--ttl", "soon"], '--ttl: "soon" is not a duration'],
  ])("tokens add %p is a usage error", async (args, message) => {
    const r = await cli(["ctl", "tokens", "add", ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  test("inventory status --connected hides instances not heard from in 3 heartbeats", async () => {
    const backend = await openSqliteBackend({ path: join(dir, "data", "registry.db"), log: silentLogger });
    const instance = (name: string, agoMs: number) => ({
      kind: "instance" as const,
      version: "v1" as const,
      metadata: { name },
      spec: {
        hostname: name,
        version: "0.1.0",
        services: ["discovery"],
        discovery_group: "g",
        started: new Date().toISOString(),
        last_seen: new Date(Date.now() - agoMs).toISOString(),
      },
    });
    await backend.put(instance("fresh", 2_000));
    await backend.put(instance("stale", 60_000));
    await backend.close();
    const all = await cli(["ctl", "inventory", "status"]);
    expect(all.stdout).toMatch(/^fresh +fresh +discovery +g +0\.1\.0 +2s ago$/m);
    expect(all.stdout).toMatch(/^stale .* 1m ago$/m);
    const connected = await cli(["ctl", "inventory", "status", "--connected"]);
    expect(connected.stdout).toContain("fresh");
    expect(connected.stdout).not.toContain("stale");
    await cli(["ctl", "rm", "instance/fresh"]);
    await cli(["ctl", "rm", "instance/stale"]);
  });
});

describe("start in-process", () => {
  test("runs until aborted, then removes its instance; the id is stable per data_dir", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const stop = new AbortController();
      const running = cli(["start"], { signal: stop.signal });
      const rows = await waitForInstances(1);
      ids.push(rows[0]!.metadata.name);
      expect(rows[0]!.spec.services).toEqual([]);
      stop.abort();
      expect((await running).code).toBe(0);
      expect(await waitForInstances(0)).toEqual([]);
    }
    expect(ids[0]).toBe(ids[1]!);
  });
});

async function waitForInstances(n: number) {
  const end = Date.now() + 5000;
  for (;;) {
    const rows = JSON.parse((await cli(["ctl", "inventory", "status", "--format", "json"])).stdout) as {
      metadata: { name: string };
      spec: { services: string[] };
    }[];
    if (rows.length === n || Date.now() > end) return rows;
    await Bun.sleep(50);
  }
}
