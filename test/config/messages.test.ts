// Config problems quote what the user wrote and say plainly what is wrong with the path they gave.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig, parseConfig } from "../../src/config/index.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kp-cfgmsg-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problemsOf = async (run: () => unknown) => {
  try {
    await run();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  throw new Error("expected a ConfigError");
};

test("a bad log severity is quoted as written, not lower-cased", async () => {
  const problems = await problemsOf(() =>
    parseConfig("version: v1\nkubeport:\n  log: { severity: LOUD }\n", "t.yaml", { env: {}, hostname: "h" }),
  );
  expect(problems).toEqual(['kubeport.log.severity: "LOUD" is not one of: DEBUG, INFO, WARN, ERROR']);
});

test("severity still accepts any case and WARNING", () => {
  const cfg = parseConfig("version: v1\nkubeport:\n  log: { severity: Warning }\n", "t.yaml", {
    env: {},
    hostname: "h",
  });
  expect(cfg.kubeport.log.severity).toBe("warn");
});

test("-c naming a directory says so", async () => {
  const problems = await problemsOf(() => loadConfig(dir));
  expect(problems).toEqual([": is a directory, not a config file (pass -c FILE)"]);
});

test("a resource file given as the config is recognised and pointed at ctl create", async () => {
  const problems = await problemsOf(() =>
    parseConfig("kind: role\nversion: v1\nmetadata: { name: dev }\nspec: { allow: {} }\n", "role.yaml", {
      env: {},
      hostname: "h",
    }),
  );
  expect(problems).toEqual([
    ": this is a resource (kind: role), not a kubeport config: load it with kubeport ctl create -f FILE",
  ]);
});

test("OIDC prefixes: system: (EKS's rule), empty and control characters are refused, all at once", async () => {
  const problems = await problemsOf(() =>
    parseConfig(
      [
        "version: v1",
        "proxy_service:",
        "  oidc:",
        "    - { issuer_url: https://a.example, audience: k, username_prefix: 'system:', groups_prefix: 'oidc:system:x' }",
        "    - { issuer_url: https://b.example, audience: k, username_prefix: '', groups_prefix: \"a\\nb\" }",
        "",
      ].join("\n"),
      "t.yaml",
      { env: {}, hostname: "h" },
    ),
  );
  expect(problems).toEqual([
    'proxy_service.oidc[0].username_prefix: must not contain "system:" (names from a token may never be Kubernetes system names)',
    'proxy_service.oidc[0].groups_prefix: must not contain "system:" (names from a token may never be Kubernetes system names)',
    "proxy_service.oidc[1].username_prefix: must not be empty",
    "proxy_service.oidc[1].groups_prefix: must not contain control characters",
  ]);
});

test('OIDC prefixes: "-" and any other text are kept as written', () => {
  const cfg = parseConfig(
    "version: v1\nproxy_service:\n  oidc:\n    - { issuer_url: https://a.example, audience: k, username_prefix: '-', groups_prefix: 'corp:' }\n",
    "t.yaml",
    { env: {}, hostname: "h" },
  );
  expect(cfg.proxy_service.oidc[0]).toMatchObject({ username_prefix: "-", groups_prefix: "corp:" });
});
