// `kubectl auth can-i --list` answered from kubernetes_resources: which rules show, and how.
import { describe, expect, test } from "bun:test";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { KubeportError } from "../../lib/errors.ts";
import type { KubeResourceRule } from "../../registry/index.ts";
import { encodeEnvelope } from "../filter/index.ts";
import { resourceAccess } from "./access.ts";
import { compileRule } from "./rules.ts";
import { resourceRules, reviewRules } from "./rules-review.ts";

const access = (allow: KubeResourceRule[], deny: KubeResourceRule[] = []) =>
  resourceAccess(
    allow.map((r, index) => compileRule(r, { role: "r", side: "allow", index })),
    deny.map((r, index) => compileRule(r, { role: "r", side: "deny", index })),
  );

describe("resourceRules", () => {
  test("rules reaching the namespace, exec and portforward as RBAC writes them; others left out", () => {
    const a = access([
      { kind: "pods", namespace: "default", name: "web-*", verbs: ["get", "exec", "portforward"] },
      { kind: "configmaps", namespace: "dev-*", name: "*", verbs: ["list"] },
      { kind: "deployments", namespace: "*", name: "api", verbs: ["*"] },
      { kind: "nodes", name: "*", verbs: ["get"] },
      // Cluster-scoped objects of every kind: RBAC cannot say "cluster-scoped only", so not shown.
      { kind: "*", name: "*", verbs: ["get"] },
    ]);
    expect(resourceRules(a, "default")).toEqual([
      { verbs: ["get"], apiGroups: [""], resources: ["pods"], resourceNames: ["web-*"] },
      {
        verbs: ["create", "get"],
        apiGroups: [""],
        resources: ["pods/exec", "pods/attach"],
        resourceNames: ["web-*"],
      },
      {
        verbs: ["create", "get"],
        apiGroups: [""],
        resources: ["pods/portforward"],
        resourceNames: ["web-*"],
      },
      { verbs: ["*"], apiGroups: ["apps"], resources: ["deployments"], resourceNames: ["api"] },
      { verbs: ["get"], apiGroups: [""], resources: ["nodes"] },
    ]);
    expect(resourceRules(a, "dev-1").map((r) => r.resources[0])).toEqual([
      "configmaps",
      "deployments",
      "nodes",
    ]);
  });

  test("a rule on the namespace object reaches everything inside it", () => {
    const a = access([{ kind: "namespaces", name: "team-*", verbs: ["get", "list"] }]);
    expect(resourceRules(a, "team-a")).toEqual([
      { verbs: ["get", "list"], apiGroups: ["*"], resources: ["*"] },
      { verbs: ["get", "list"], apiGroups: [""], resources: ["namespaces"], resourceNames: ["team-*"] },
    ]);
    expect(resourceRules(a, "other")).toEqual([
      { verbs: ["get", "list"], apiGroups: [""], resources: ["namespaces"], resourceNames: ["team-*"] },
    ]);
  });
});

describe("reviewRules", () => {
  const a = access(
    [{ kind: "pods", namespace: "default", name: "web-*", verbs: ["get"] }],
    [{ kind: "pods", namespace: "default", name: "web-secret", verbs: ["*"] }],
  );
  const post = (body: BodyInit, type = "application/json") =>
    new Request("https://gw/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", {
      method: "POST",
      headers: { "content-type": type },
      body,
    });

  test("JSON: 201, incomplete, the deny rules named", async () => {
    const res = await reviewRules(
      a,
      post(JSON.stringify({ kind: "SelfSubjectRulesReview", spec: { namespace: "default" } })),
    );
    expect(res.status).toBe(201);
    const got = (await res.json()) as { spec: unknown; status: Record<string, unknown> };
    expect(got.spec).toEqual({ namespace: "default" });
    expect(got.status.incomplete).toBe(true);
    expect(got.status.resourceRules).toEqual([
      { verbs: ["get"], apiGroups: [""], resources: ["pods"], resourceNames: ["web-*"] },
    ]);
    expect(got.status.evaluationError).toContain("deny rules take precedence and are not listed");
    expect(got.status.evaluationError).toContain("web-secret");
  });

  test("protobuf, as client-go may send it", async () => {
    const spec = new BinaryWriter().tag(1, WireType.LengthDelimited).string("default").finish();
    const raw = new BinaryWriter().tag(2, WireType.LengthDelimited).bytes(spec).finish();
    const body = encodeEnvelope({
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectRulesReview",
      raw,
      contentEncoding: "",
      contentType: "",
    });
    const res = await reviewRules(
      a,
      post(body as Uint8Array<ArrayBuffer>, "application/vnd.kubernetes.protobuf"),
    );
    expect(((await res.json()) as { spec: unknown }).spec).toEqual({ namespace: "default" });
  });

  test.each([
    [
      '{"kind":"SelfSubjectRulesReview","spec":{"namespace":"a"},"spec":{"namespace":"b"}}',
      /"spec" appears more than once/,
    ],
    ['{"kind":"SelfSubjectAccessReview","spec":{}}', /kind is "SelfSubjectAccessReview"/],
    ['{"spec":{"namespace":7}}', /spec.namespace is not a string/],
    ["not json", /is not JSON/],
  ])("unreadable %s: refused naming why", async (body, why) => {
    const err = await reviewRules(a, post(body)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeportError);
    expect((err as Error).message).toMatch(why);
  });
});
