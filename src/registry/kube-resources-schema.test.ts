import { expect, test } from "bun:test";
import { resourceProblems } from "./resources.ts";

const role = (allow: unknown, deny?: unknown) => ({
  kind: "role",
  version: "v1",
  metadata: { name: "r" },
  spec: {
    allow: { kubernetes_labels: { "*": "*" }, kubernetes_groups: ["g"], kubernetes_resources: allow },
    ...(deny ? { deny: { kubernetes_resources: deny } } : {}),
  },
});
const problems = (allow: unknown, deny?: unknown) =>
  resourceProblems(role(allow, deny)).map((p) => `${p.path}: ${p.message}`);

test("valid rules: built-in, cluster-scoped, custom resource, wildcard, globs and regexes", () => {
  expect(
    problems([
      { kind: "pods", namespace: "default", name: "web-*", verbs: ["get", "list", "watch", "exec"] },
      { kind: "deployments", namespace: "^(dev|stage)$", name: "*", verbs: ["*"] },
      { kind: "clusterroles", name: "cr-nginx-*", verbs: ["get", "list"] },
      { kind: "crontabs", api_group: "stable.example.com", namespace: "*", name: "*", verbs: ["get"] },
      { kind: "*", api_group: "*", namespace: "dev", name: "*", verbs: ["portforward", "deletecollection"] },
    ]),
  ).toEqual([]);
});

test.each([
  [
    "unknown verb",
    [{ kind: "pods", namespace: "*", name: "*", verbs: ["get", "attach"] }],
    'spec.allow.kubernetes_resources[0].verbs[1]: unknown verb "attach" (attach is checked as "exec")',
  ],
  [
    "* with other verbs",
    [{ kind: "pods", namespace: "*", name: "*", verbs: ["get", "*"] }],
    'spec.allow.kubernetes_resources[0].verbs[1]: "*" means every verb and must be the only one in the list',
  ],
  [
    "namespaced kind without namespace",
    [{ kind: "pods", name: "*", verbs: ["get"] }],
    'spec.allow.kubernetes_resources[0].namespace: is required for the namespaced kind "pods"',
  ],
  [
    "invalid regex",
    [{ kind: "pods", namespace: "*", name: "^podname-[0-+$", verbs: ["get"] }],
    'spec.allow.kubernetes_resources[0].name: invalid regular expression "^podname-[0-+$"',
  ],
  [
    "custom resource without api_group",
    [{ kind: "crontabs", namespace: "*", name: "*", verbs: ["get"] }],
    'spec.allow.kubernetes_resources[0].api_group: is required for "crontabs"',
  ],
  [
    "misspelled key",
    [{ kind: "pods", namespaces: "*", namespace: "*", name: "*", verbs: ["get"] }],
    'spec.allow.kubernetes_resources[0].namespaces: unknown key; did you mean "namespace"?',
  ],
  [
    "missing name",
    [{ kind: "pods", namespace: "*", verbs: ["get"] }],
    "spec.allow.kubernetes_resources[0].name: is required",
  ],
  [
    "no verbs",
    [{ kind: "pods", namespace: "*", name: "*", verbs: [] }],
    "spec.allow.kubernetes_resources[0].verbs: must list at least one verb",
  ],
  [
    "singular kind",
    [{ kind: "Pod", namespace: "*", name: "*", verbs: ["get"] }],
    "spec.allow.kubernetes_resources[0].kind: must be a plural resource name",
  ],
  ["not a list", { kind: "pods" }, "spec.allow.kubernetes_resources: must be a list of rules"],
])("refused: %s", (_, rules, want) => {
  const got = problems(rules);
  expect(got.some((p) => p.startsWith(want))).toBe(true);
});

test("every problem at once, deny lists too", () => {
  const got = problems(
    [
      { kind: "pods", name: "*", verbs: ["get", "*"] },
      { kind: "secrets", namespace: "(", name: "*", verbs: ["fly"] },
    ],
    [{ kind: "pods", namespace: "*", name: "^a(?=b)$", verbs: ["get"] }],
  );
  expect(got.length).toBeGreaterThanOrEqual(4);
  expect(got.join("\n")).toContain("spec.deny.kubernetes_resources[0].name: invalid regular expression");
  expect(got.join("\n")).toContain('spec.allow.kubernetes_resources[1].verbs[0]: unknown verb "fly"');
});
