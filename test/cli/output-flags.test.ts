// `-o json|yaml|wide|name` as kubectl means it, on every listing command, with `--format` kept as
// its alias; output files moved to --out (a file name after -o is a usage error pointing there).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { AUDIT_STREAM } from "../../src/audit/index.ts";
import {
  dataDirConfig,
  runCliCaptured,
  seedRegistry,
  tempConfig,
  writePlaceholderCa,
} from "../helpers/cli.ts";

const { dir, cfg, remove } = tempConfig("kp-output-", (d) =>
  dataDirConfig(d, "kubernetes_service:", "  enabled: true", "  resources: [{ labels: { env: [prod] } }]"),
);
const cli = (...args: string[]) => runCliCaptured(args, { env: { KUBEPORT_CONFIG: cfg } });

const now = new Date().toISOString();
const event = (uid: string, user: string) => ({
  event: "kube.request",
  code: "T3009I",
  time: now,
  uid,
  user,
  kubernetes_cluster: "prod-a",
  verb: "GET",
  request_path: "/api/v1/pods",
  response_code: 200,
});

beforeAll(async () => {
  writePlaceholderCa(dir);
  await seedRegistry(join(dir, "data", "registry.db"), async (b) => {
    await b.appendMany(AUDIT_STREAM, [event("ev-1", "alice"), event("ev-2", "bob")]);
  });
  const file = join(dir, "resources.yaml");
  writeFileSync(
    file,
    `kind: kube_cluster
version: v1
metadata: { name: prod-a, labels: { env: prod, kubeport.dev/origin: cloud } }
spec: { endpoint: "https://a.example.com", aws: { region: us-east-1, account_id: "111111111111", name: prod-a } }
---
kind: role
version: v1
metadata: { name: dev }
spec: { allow: { kubernetes_labels: { env: "*" }, kubernetes_groups: [developers] } }
`,
  );
  expect((await cli("ctl", "create", "-f", file)).code).toBe(0);
  expect((await cli("ctl", "users", "add", "alice", "--roles", "dev")).code).toBe(0);
  expect((await cli("ctl", "tokens", "add", "--type=kube")).code).toBe(0);
});
afterAll(remove);

/** Each listing command and the names -o name prints for what the registry holds. */
const LISTINGS: [string, string[], string[]][] = [
  ["ctl get kube_cluster", ["ctl", "get", "kube_cluster"], ["kube_cluster/prod-a"]],
  ["ctl get role", ["ctl", "get", "role"], ["role/dev"]],
  ["ctl users ls", ["ctl", "users", "ls"], ["user/alice"]],
  ["ctl tokens ls", ["ctl", "tokens", "ls"], ["token/"]],
  ["ctl inventory status", ["ctl", "inventory", "status"], []],
  ["ctl discovery status", ["ctl", "discovery", "status"], []],
  ["ctl audit search", ["ctl", "audit", "search"], ["ev-1", "ev-2"]],
  ["ctl audit tail", ["ctl", "audit", "tail"], ["ev-1", "ev-2"]],
  ["ctl recordings ls", ["ctl", "recordings", "ls"], []],
  ["ctl kube ls", ["ctl", "kube", "ls"], ["kube_cluster/prod-a"]],
];

describe.each(LISTINGS)("%s", (_, args, names) => {
  test("-o json, -o yaml and --format json agree; -o name prints names", async () => {
    const json = await cli(...args, "-o", "json");
    expect(json.stderr).not.toContain("error");
    expect(json.code).toBe(0);
    const yaml = await cli(...args, "-o", "yaml");
    expect(yaml.code).toBe(0);
    const alias = await cli(...args, "--format", "json");
    expect(alias.stdout).toBe(json.stdout);
    // Audit output is a stream: one JSON object a line. YAML: a document per item (or one list).
    const fromJson = args.includes("audit")
      ? json.stdout
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : JSON.parse(json.stdout);
    const docs = parseAllDocuments(yaml.stdout).map((d) => d.toJS());
    const fromYaml = docs.length === 1 && Array.isArray(docs[0]) ? docs[0] : docs;
    expect(fromYaml).toEqual(Array.isArray(fromJson) ? fromJson : [fromJson]);
    const name = await cli(...args, "-o", "name");
    expect(name.code).toBe(0);
    const lines = name.stdout.split("\n").filter(Boolean);
    expect(lines.length).toBe(names.length);
    for (const [i, n] of names.entries()) expect(lines[i]).toStartWith(n);
  });

  test("-o wide is a table with at least the table's columns", async () => {
    const table = await cli(...args);
    const wide = await cli(...args, "-o", "wide");
    expect(wide.code).toBe(0);
    const head = (s: string) => s.split("\n")[0]!;
    for (const col of head(table.stdout)
      .split(/\s{1,}/)
      .filter(Boolean))
      expect(head(wide.stdout)).toContain(col);
  });

  test("-o with another word is a usage error naming the choices", async () => {
    const r = await cli(...args, "-o", "xml");
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith('error: -o: "xml" is not one of: json, yaml, wide, name');
  });
});

test("-o wide adds columns: users' creation time, every label of a cluster", async () => {
  expect((await cli("ctl", "users", "ls", "-o", "wide")).stdout.split("\n")[0]).toContain("CREATED");
  expect((await cli("ctl", "get", "kube_cluster")).stdout).not.toContain("kubeport.dev/origin");
  expect((await cli("ctl", "get", "kube_cluster", "-o", "wide")).stdout).toContain(
    "kubeport.dev/origin=cloud",
  );
});

describe("files go to --out; -o FILE says so", () => {
  test("kubeconfig --out writes the file 0600; -o json prints JSON", async () => {
    const file = join(dir, "alice.kubeconfig");
    const r = await cli("kubeconfig", "--user", "alice", "--out", file);
    expect(r.code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const json = await cli("kubeconfig", "--user", "alice", "-o", "json");
    expect(JSON.parse(json.stdout).kind).toBe("Config");
  });

  test.each([
    [["kubeconfig", "--user", "alice"], "other.kubeconfig", "yaml, json"],
    [["configure"], "/etc/kp-new.yaml", "yaml"],
  ])("%p -o FILE: a usage error pointing at --out, nothing written", async (args, file, offered) => {
    const target = join(dir, file.replace(/^\/etc\//, ""));
    const r = await cli(...args, "-o", file.endsWith(".kubeconfig") ? target : file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `is not an output format (${offered}): -o means the output format, as in kubectl; write a file with --out`,
    );
    expect(existsSync(target)).toBe(false);
  });

  test("-o name on kubeconfig: not a format it has", async () => {
    const r = await cli("kubeconfig", "--user", "alice", "-o", "name");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('-o: "name" is not one of: yaml, json');
  });
});

test("version -o json is kubectl version's -o", async () => {
  const r = await cli("version", "-o", "json");
  expect(JSON.parse(r.stdout).version).toMatch(/^\d+\.\d+\.\d+/);
});
