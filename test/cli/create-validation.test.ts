// ctl create -f checks every resource as strictly as the config file (issue 10 §1) and within size
// limits (§5): every problem at once with its path and line, exit 2, and nothing stored.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../../src/lib/log.ts";
import { openSqliteBackend } from "../../src/registry/index.ts";
import { runCliCaptured, tempConfig } from "../helpers/cli.ts";
import { writeRawSqlite } from "../helpers/raw-registry.ts";

// The documented defaults (src/cli/resource-file.ts), written out so this test also runs against older code.
const CREATE_LIMITS = { fileBytes: 4 * 1024 * 1024, resources: 1000, resourceBytes: 256 * 1024 };

const { dir, cfg, remove } = tempConfig("kp-create-valid-");
afterAll(remove);

let n = 0;
async function create(text: string, ...flags: string[]) {
  const file = join(dir, `f${++n}.yaml`);
  writeFileSync(file, text);
  return { file, ...(await runCliCaptured(["ctl", "-c", cfg, "create", "-f", file, ...flags])) };
}

/** Every role and user in the registry, by name (what a bad file must not have added to). */
async function stored(): Promise<string[]> {
  const backend = openSqliteBackend({ path: join(dir, "data", "registry.db"), log: silentLogger });
  try {
    const all = [...(await backend.list("role")), ...(await backend.list("user"))];
    return all.map((r) => `${r.kind}/${r.metadata.name}`).sort();
  } finally {
    await backend.close();
  }
}

const role = (name: string, spec: string) =>
  `kind: role\nversion: v1\nmetadata: { name: ${name} }\nspec:\n${spec}`;

describe("roles fail closed at create", () => {
  test("the issue's deny list (one invalid pattern beside a valid value) is refused with its path, position and line", async () => {
    const r = await create(
      role(
        "no-payments",
        [
          "  allow:",
          '    kubernetes_labels: { "*": "*" }',
          "    kubernetes_groups: [dev]",
          "  deny:",
          "    kubernetes_labels:",
          '      team: ["payments", "^(fin|pay$"]',
          "",
        ].join("\n"),
      ),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `error: invalid resource file ${r.file}: 1 problem\n` +
        `  role "no-payments": spec.deny.kubernetes_labels.team[1]: invalid regular expression "^(fin|pay$": missing closing ) for the ( at position 2 (label patterns are RE2, as in Teleport) (line 10)\n`,
    );
    expect(await stored()).toEqual([]);
  });

  test("misspelled keys (kubernetes_label, allw, metadta) are each named with a did-you-mean, all at once", async () => {
    const r = await create(
      [
        "kind: role",
        "version: v1",
        "metadta: { name: typo }",
        "spec:",
        "  allw: { kubernetes_groups: [dev] }",
        "  deny:",
        "    kubernetes_label: { team: payments }",
        "",
      ].join("\n"),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: invalid resource file ${r.file}: 5 problems\n`);
    for (const line of [
      'role: metadta: unknown key; did you mean "metadata"? (line 3)',
      "role: metadata: is required",
      'role: spec.allw: unknown key; did you mean "allow"? (line 5)',
      "role: spec.allow: is required",
      'role: spec.deny.kubernetes_label: unknown key; did you mean "kubernetes_labels"? (line 7)',
    ])
      expect(r.stderr).toContain(line);
    expect(await stored()).toEqual([]);
  });

  test("a file with one good and one bad document stores neither, and every document's problems are listed", async () => {
    const r = await create(
      [
        role("good", "  allow: { kubernetes_groups: [dev] }\n"),
        role("bad-a", '  allow: { kubernetes_labels: { env: "^(?=prod)p.*$" }, kubernetes_groups: [dev] }\n'),
        "kind: user\nversion: v1\nmetadata: { name: bob }\nspec: { roles: [dev], created: now, rolez: [] }\n",
      ].join("---\n"),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'document 2, role "bad-a": spec.allow.kubernetes_labels.env: invalid regular expression "^(?=prod)p.*$": look-around (?= at position 2 is not supported',
    );
    expect(r.stderr).toContain('document 3, user "bob": spec.created: must be an RFC 3339 time');
    expect(r.stderr).toContain('document 3, user "bob": spec.rolez: unknown key; did you mean "roles"?');
    expect(await stored()).toEqual([]);
  });

  test("(?i) is accepted; `^staging|prod$` is stored with a warning that says what it matches", async () => {
    const r = await create(
      role(
        "ci",
        '  allow: { kubernetes_labels: { env: ["^(?i)ci$", "^staging|prod$"] }, kubernetes_groups: [dev] }\n',
      ),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('role "ci" has been created\n');
    expect(r.stderr).toMatch(
      /^warning: role "ci": spec\.allow\.kubernetes_labels\.env\[1\]: "\^staging\|prod\$" has \| outside a group.*write "\^\(staging\|prod\)\$"\n$/,
    );
    expect(await stored()).toEqual(["role/ci"]);
  });

  test("kinds kubeport writes itself are refused", async () => {
    const r = await create(
      "kind: signing_key\nversion: v1\nmetadata: { name: k }\nspec: { alg: ES256, public_jwk: {}, private_jwk: {}, created: 2026-01-01T00:00:00Z, state: active }\n",
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "kind: signing_key is written by kubeport itself (use kubeport ctl auth rotate)",
    );
  });

  test("the same resource twice in one file is named", async () => {
    const r = await create([role("twice", "  allow: {}\n"), role("twice", "  allow: {}\n")].join("---\n"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'document 2, role "twice": metadata.name: role/twice appears twice in this file (also document 1)',
    );
  });
});

describe("size limits", () => {
  test(`a file over ${CREATE_LIMITS.fileBytes} bytes is refused before it is parsed`, async () => {
    const text = `# ${"x".repeat(CREATE_LIMITS.fileBytes)}\n${role("big-file", "  allow: {}\n")}`;
    const r = await create(text);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `error: invalid resource file ${r.file}: 1 problem\n  is ${text.length} bytes; ctl create reads files of at most 4 MiB (split it into several files)\n`,
    );
    expect(await stored()).toEqual(["role/ci"]);
  }, 60_000);

  test(`more than ${CREATE_LIMITS.resources} resources in one file are refused`, async () => {
    const docs = Array.from({ length: CREATE_LIMITS.resources + 1 }, (_, i) =>
      role(`r${i}`, "  allow: {}\n"),
    );
    const r = await create(docs.join("---\n"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "holds more than 1000 resources; ctl create takes at most 1000 a file (split it into several files)",
    );
    expect(await stored()).toEqual(["role/ci"]);
  }, 60_000);

  test(`a resource over ${CREATE_LIMITS.resourceBytes} bytes is refused naming the limit`, async () => {
    const groups = JSON.stringify(Array.from({ length: 30_000 }, (_, i) => `group-${i}`));
    const r = await create(role("huge", `  allow: { kubernetes_groups: ${groups} }\n`));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /role "huge": is \d+ bytes as JSON; ctl create takes resources of at most 256 KiB \(line 1\)/,
    );
    expect(await stored()).toEqual(["role/ci"]);
  }, 60_000);
});

test("ctl get role shows a role stored before validation was strict as broken, instead of failing", async () => {
  writeRawSqlite(
    join(dir, "data", "registry.db"),
    "role",
    "legacy",
    JSON.stringify({ kind: "role", version: "v1", metadata: { name: "legacy" }, spec: { allw: {} } }),
  );
  const r = await runCliCaptured(["ctl", "-c", cfg, "get", "role"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(
    /^legacy +BROKEN, denies its holders every cluster: spec\.allow: is required +- +-$/m,
  );
});
