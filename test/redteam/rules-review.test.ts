// Red team 4: `kubectl auth can-i --list` (a SelfSubjectRulesReview create) is answered by kubeport
// for a user whose roles restrict kubernetes_resources (resources/rules-review.ts). Forwarded, the
// cluster lists the impersonated groups' RBAC rules (often `*.*`): more than kubeport lets the user
// do. Every spelling that reaches the API server's rules review (another version, a percent-encoded
// segment, a namespaced path, a name, a query) must be answered by kubeport, nothing upstream, and
// the answer must not list more than the allow rules for that namespace. No finding: these pass on
// main as of f50f210 and guard the routing in middleware.ts.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Rig, resourceRole, startRig, user } from "./harness.ts";

let rig: Rig;
let restricted: string;
let unrestricted: string;

beforeAll(async () => {
  rig = await startRig([
    resourceRole(
      "web-reader",
      [{ kind: "pods", namespace: "default", name: "web-*", verbs: ["get", "list"] }],
      [{ kind: "pods", namespace: "*", name: "web-secret", verbs: ["*"] }],
    ),
    user("rita", ["web-reader"]),
    {
      kind: "role",
      version: "v1",
      metadata: { name: "everything" },
      spec: { allow: { kubernetes_labels: { env: "dev" }, kubernetes_groups: ["admins"] } },
    } as never,
    user("ursula", ["everything"]),
  ]);
  restricted = await rig.token("rita");
  unrestricted = await rig.token("ursula");
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

const review = (namespace: string, version = "v1") =>
  JSON.stringify({
    kind: "SelfSubjectRulesReview",
    apiVersion: `authorization.k8s.io/${version}`,
    spec: { namespace },
  });

const G = "/v1/clusters/c/apis/authorization.k8s.io";

type Answer = { status?: { resourceRules: unknown[]; incomplete: boolean; evaluationError: string } };

/** A restricted user's review in each spelling: [what, path, body, content type, status wanted]. */
const SPELLINGS: [string, string, string, string, number][] = [
  ["v1", `${G}/v1/selfsubjectrulesreviews`, review("default"), "application/json", 201],
  ["v1beta1", `${G}/v1beta1/selfsubjectrulesreviews`, review("default", "v1beta1"), "application/json", 201],
  [
    "a percent-encoded segment",
    `${G}/v1/selfsubjectrule%73reviews`,
    review("default"),
    "application/json",
    201,
  ],
  [
    "a query",
    `${G}/v1/selfsubjectrulesreviews?dryRun=All&fieldManager=x`,
    review("default"),
    "application/json",
    201,
  ],
  [
    "a namespaced path",
    `${G}/v1/namespaces/default/selfsubjectrulesreviews`,
    review("default"),
    "application/json",
    201,
  ],
  [
    "a name in the path",
    `${G}/v1/selfsubjectrulesreviews/anything`,
    review("default"),
    "application/json",
    201,
  ],
  ["no content type", `${G}/v1/selfsubjectrulesreviews`, review("default"), "", 201],
  // Bodies kubeport cannot read as one review: refused, never passed on.
  [
    "spec twice (Go merges)",
    `${G}/v1/selfsubjectrulesreviews`,
    '{"spec":{"namespace":"other"},"spec":{"namespace":"default"}}',
    "application/json",
    400,
  ],
  ["YAML", `${G}/v1/selfsubjectrulesreviews`, "kind: SelfSubjectRulesReview\n", "application/yaml", 400],
  [
    "protobuf garbage",
    `${G}/v1/selfsubjectrulesreviews`,
    "\x6b\x38\x73\x00garbage",
    "application/vnd.kubernetes.protobuf",
    400,
  ],
];

test.each(SPELLINGS)(
  "%s: answered by kubeport, nothing reaches the cluster",
  async (_what, path, body, type, want) => {
    const hits = rig.mark();
    const res = await rig.gw.fetch(path, {
      method: "POST",
      token: restricted,
      body,
      headers: type ? { "content-type": type } : {},
    });
    const answer = (await res.json()) as Answer;
    expect({ status: res.status, upstream: hits().map((h) => `${h.method} ${h.target}`) }).toEqual({
      status: want,
      upstream: [],
    });
    if (want === 201)
      expect(answer.status?.resourceRules).toEqual([
        { verbs: ["get", "list"], apiGroups: [""], resources: ["pods"], resourceNames: ["web-*"] },
      ]);
  },
);

test("no more than the allow rules: another namespace, cluster-scoped, and the deny rule named", async () => {
  const rules = async (namespace: string) => {
    const res = await rig.gw.fetch(`${G}/v1/selfsubjectrulesreviews`, {
      method: "POST",
      token: restricted,
      body: review(namespace),
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as Answer).status!;
  };
  const hits = rig.mark();
  expect((await rules("kube-system")).resourceRules).toEqual([]);
  expect((await rules("")).resourceRules).toEqual([]);
  const inDefault = await rules("default");
  expect(inDefault.incomplete).toBe(true);
  expect(inDefault.evaluationError).toContain("web-secret");
  expect(hits()).toEqual([]);
});

test("control: an unrestricted user's review goes to the cluster (its RBAC is all that applies)", async () => {
  const hits = rig.mark();
  const res = await rig.gw.fetch(`${G}/v1/selfsubjectrulesreviews`, {
    method: "POST",
    token: unrestricted,
    body: review("default"),
    headers: { "content-type": "application/json" },
  });
  await res.text();
  expect(res.status).toBe(201);
  const sent = hits();
  expect(sent.map((h) => h.path)).toEqual(["/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"]);
  expect(sent[0]!.headers.get("impersonate-group")).toBe("admins");
});
