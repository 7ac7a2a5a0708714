// Requests that do more than their HTTP verb says need the other verb too (implied-verbs.ts): each
// case is a real request parsed as the gateway parses it and checked against rules, both ways.
import { describe, expect, test } from "bun:test";
import type { KubeResourceRule } from "../../registry/index.ts";
import { requestInfo } from "../request-info.ts";
import { resourceAccess } from "./access.ts";
import { reviewAccess } from "./access-review.ts";
import { checkResources, streamAccess } from "./request-check.ts";
import { compileRule } from "./rules.ts";

const access = (allow: KubeResourceRule[], deny: KubeResourceRule[] = []) =>
  resourceAccess(
    allow.map((r, index) => compileRule(r, { role: "r", side: "allow", index })),
    deny.map((r, index) => compileRule(r, { role: "r", side: "deny", index })),
  );

const pods = (verbs: string[], name = "*"): KubeResourceRule => ({
  kind: "pods",
  namespace: "default",
  name,
  verbs,
});
const sa = (verbs: string[]): KubeResourceRule => ({
  kind: "serviceaccounts",
  namespace: "default",
  name: "deployer",
  verbs,
});
const nodes = (verbs: string[]): KubeResourceRule => ({ kind: "nodes", name: "node-1", verbs });
const configmaps = (verbs: string[]): KubeResourceRule => ({
  kind: "configmaps",
  namespace: "default",
  name: "*",
  verbs,
});

const NS = "/api/v1/namespaces/default";
const APPLY = "application/apply-patch+yaml; charset=utf-8";
const MERGE = "application/strategic-merge-patch+json";

/** "allowed", or the refusal's text. */
async function check(
  rules: ReturnType<typeof access>,
  method: string,
  path: string,
  contentType = "application/json",
): Promise<string> {
  const [p, q = ""] = path.split("?") as [string, string?];
  const req = new Request(`https://gw${path}`, {
    method,
    headers: { "content-type": contentType },
    ...(method === "GET" ? {} : { body: "{}" }),
  });
  try {
    await checkResources(rules, requestInfo(method, p, q), "u", req);
    return "allowed";
  } catch (err) {
    return (err as Error).message;
  }
}

describe("a subresource needs what it does", () => {
  const cases: [string, KubeResourceRule[], string, string, string | RegExp][] = [
    [
      "eviction with create only",
      [pods(["create"])],
      "POST",
      `${NS}/pods/db-0/eviction`,
      /cannot delete .*an eviction deletes the pod/s,
    ],
    [
      "eviction with create and delete",
      [pods(["create", "delete"])],
      "POST",
      `${NS}/pods/db-0/eviction`,
      "allowed",
    ],
    [
      "ephemeral container with patch only",
      [pods(["patch"])],
      "PATCH",
      `${NS}/pods/db-0/ephemeralcontainers`,
      /cannot exec /,
    ],
    [
      "ephemeral container (PUT) with update only",
      [pods(["update"])],
      "PUT",
      `${NS}/pods/db-0/ephemeralcontainers`,
      /cannot exec /,
    ],
    [
      "ephemeral container with patch and exec",
      [pods(["patch", "exec"])],
      "PATCH",
      `${NS}/pods/db-0/ephemeralcontainers`,
      "allowed",
    ],
    [
      "reading ephemeral containers",
      [pods(["get"])],
      "GET",
      `${NS}/pods/db-0/ephemeralcontainers`,
      "allowed",
    ],
    [
      "token with create only",
      [sa(["create"])],
      "POST",
      `${NS}/serviceaccounts/deployer/token`,
      /verbs: \["\*"\]/,
    ],
    [
      "token with every verb but *",
      [sa(["get", "list", "watch", "create", "update", "patch", "delete"])],
      "POST",
      `${NS}/serviceaccounts/deployer/token`,
      /cannot \*/,
    ],
    ["token with *", [sa(["*"])], "POST", `${NS}/serviceaccounts/deployer/token`, "allowed"],
    [
      "node proxy GET with get",
      [nodes(["get"])],
      "GET",
      "/api/v1/nodes/node-1/proxy/containerLogs/default/vault-0/app",
      /kubelet/,
    ],
    [
      "node proxy POST with create",
      [nodes(["create"])],
      "POST",
      "/api/v1/nodes/node-1:10250/proxy/run/default/vault-0/app",
      /kubelet/,
    ],
    ["node proxy with *", [nodes(["*"])], "GET", "/api/v1/nodes/node-1/proxy/pods", "allowed"],
    ["node object get", [nodes(["get"])], "GET", "/api/v1/nodes/node-1", "allowed"],
  ];
  for (const [name, allow, method, path, want] of cases)
    test(`${name}: ${want === "allowed" ? "allowed" : "refused"}`, async () => {
      const got = await check(access(allow), method, path);
      if (typeof want === "string") expect(got).toBe(want);
      else expect(got).toMatch(want);
    });

  test("a deny of delete refuses the eviction even with * allowed", async () =>
    expect(
      await check(access([pods(["*"])], [pods(["delete"], "db-0")]), "POST", `${NS}/pods/db-0/eviction`),
    ).toMatch(/denies it/));
});

describe("a write that may create needs create", () => {
  const cases: [string, string[], string, string, string, string | RegExp][] = [
    [
      "PUT with update only",
      ["update"],
      "PUT",
      `${NS}/configmaps/cm`,
      "application/json",
      /cannot create .*a PUT creates/s,
    ],
    [
      "PUT with update and create",
      ["update", "create"],
      "PUT",
      `${NS}/configmaps/cm`,
      "application/json",
      "allowed",
    ],
    [
      "server-side apply with patch only",
      ["patch"],
      "PATCH",
      `${NS}/configmaps/cm?fieldManager=k`,
      APPLY,
      /cannot create .*server-side apply/s,
    ],
    [
      "server-side apply (CBOR) with patch only",
      ["patch"],
      "PATCH",
      `${NS}/configmaps/cm`,
      "application/apply-patch+cbor",
      /cannot create/,
    ],
    [
      "server-side apply with patch and create",
      ["patch", "create"],
      "PATCH",
      `${NS}/configmaps/cm`,
      APPLY,
      "allowed",
    ],
    ["strategic-merge patch with patch only", ["patch"], "PATCH", `${NS}/configmaps/cm`, MERGE, "allowed"],
    [
      "JSON patch with patch only",
      ["patch"],
      "PATCH",
      `${NS}/configmaps/cm`,
      "application/json-patch+json",
      "allowed",
    ],
  ];
  for (const [name, verbs, method, path, type, want] of cases)
    test(`${name}: ${want === "allowed" ? "allowed" : "refused"}`, async () => {
      const got = await check(access([configmaps(verbs)]), method, path, type);
      if (typeof want === "string") expect(got).toBe(want);
      else expect(got).toMatch(want);
    });

  test("a status subresource is never created: PUT and apply need only their verb", async () => {
    const a = access([pods(["update", "patch"])]);
    expect(await check(a, "PUT", `${NS}/pods/web-0/status`)).toBe("allowed");
    expect(await check(a, "PATCH", `${NS}/pods/web-0/status`, APPLY)).toBe("allowed");
  });
});

test("an open node proxy stream is re-checked with every verb on the node (a role edit to get only ends it)", () => {
  const info = requestInfo(
    "GET",
    "/api/v1/nodes/node-1/proxy/containerLogs/default/web-0/app",
    "follow=true",
  );
  expect(streamAccess(access([nodes(["*"])]), info, "u")).toEqual({ view: "" });
  expect(streamAccess(access([nodes(["get"])]), info, "u")).toEqual({
    refused: expect.stringMatching(/kubelet/),
  });
});

describe("kubectl auth can-i answers as the request would be decided", () => {
  /** "yes" when the review goes on to the cluster, else the gateway's reason. */
  async function canI(rules: ReturnType<typeof access>, attrs: Record<string, string>): Promise<string> {
    const body = JSON.stringify({
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { namespace: "default", ...attrs } },
    });
    const req = new Request("https://gw/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const d = await reviewAccess(rules, "u", req, false);
    if (!("answer" in d) || !d.answer) return "yes";
    return ((await d.answer.json()) as { status: { reason: string } }).status.reason;
  }
  const evict = { verb: "create", resource: "pods", subresource: "eviction", name: "db-0" };
  test("can-i create pods/eviction: no without delete, yes with it", async () => {
    expect(await canI(access([pods(["create"])]), evict)).toMatch(
      /cannot delete .*an eviction deletes the pod/,
    );
    expect(await canI(access([pods(["create", "delete"])]), evict)).toBe("yes");
  });
  test("can-i update a configmap: no without create (a PUT may create it)", async () => {
    const q = { verb: "update", resource: "configmaps", name: "cm" };
    expect(await canI(access([configmaps(["update"])]), q)).toMatch(/cannot create/);
    expect(await canI(access([configmaps(["update", "create"])]), q)).toBe("yes");
    expect(await canI(access([configmaps(["patch"])]), { ...q, verb: "patch" })).toBe("yes");
  });
});
