// A pasted teleport.yaml or a file with several typos: every unknown key is reported at once.
import { describe, expect, test } from "bun:test";
import { ConfigError, parseConfig } from "../../src/config/index.ts";

const problemsOf = (text: string) => {
  try {
    parseConfig(text, "test.yaml", { env: {}, hostname: "node-a" });
  } catch (err) {
    if (err instanceof ConfigError)
      return err.problems.map((p) => `${p.path}: ${p.message} (line ${p.line})`);
    throw err;
  }
  throw new Error("expected a ConfigError");
};

describe("unknown keys", () => {
  test("every unknown key of one map is reported, not only the first", () => {
    const problems = problemsOf(
      "version: v1\nkubeport:\n  data_dirr: /x\n  nodname: y\n  storage: { typ: sqlite, pth: /r.db }\n",
    );
    expect(problems).toEqual([
      'kubeport.data_dirr: unknown key; did you mean "data_dir"? (line 3)',
      'kubeport.nodname: unknown key; did you mean "nodename"? (line 4)',
      'kubeport.storage.typ: unknown key; did you mean "type"? (line 5)',
      'kubeport.storage.pth: unknown key; did you mean "path"? (line 5)',
    ]);
  });

  test("a teleport.yaml's sections each get a hint saying what to do", () => {
    const problems = problemsOf(
      [
        "version: v1",
        "teleport:",
        "  join_params: { token_name: /tmp/token, method: token }",
        "auth_service:",
        "  enabled: off",
        "ssh_service:",
        "  enabled: off",
        "discovery_service:",
        "  enabled: yes",
        "  aws: [{ types: [eks], regions: ['*'], tags: { env: prod } }]",
        "",
      ].join("\n"),
    );
    expect(problems).toEqual([
      'teleport: unknown key; did you mean "kubeport"? (line 2)',
      "auth_service: unknown key; kubeport has no auth_service: remove the section (line 4)",
      "ssh_service: unknown key; kubeport has no ssh_service: remove the section (line 6)",
    ]);
  });

  test("unknown keys inside list items are all reported with their index", () => {
    const problems = problemsOf(
      "version: v1\ndiscovery_service:\n  aws:\n    - types: [eks]\n      tag: { env: prod }\n      region: [us-east-1]\n",
    );
    expect(problems).toEqual([
      'discovery_service.aws[0].tag: unknown key; did you mean "tags"? (line 5)',
      'discovery_service.aws[0].region: unknown key; did you mean "regions"? (line 6)',
    ]);
  });
});
