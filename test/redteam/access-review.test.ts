// Red team 3 (issue 10): `kubectl auth can-i` is answered by the gateway from kubernetes_resources
// when the rules refuse, and forwarded to the cluster (whose RBAC answers) when they allow. The
// gateway reads the SelfSubjectAccessReview with JSON.parse, which keeps only the LAST of a repeated
// member. The API server decodes it into Go structs (sigs.k8s.io/json, a fork of encoding/json): a
// repeated `spec` or `resourceAttributes` is decoded into the SAME struct (a non-nil pointer is
// reused), so the fields of both occurrences are merged. A review whose last occurrence asks an
// allowed question ("can I get pods in default", no name) and whose first adds `"name":"db-0"` is
// forwarded, and the cluster answers "get pods/db-0" — an object kubeport refuses — for the
// impersonated groups: `allowed: true` from the cluster for something kubeport denies.
// (Create bodies are guarded against exactly this: created-object.ts refuses a repeated
// `metadata` with 400. The review reader has no such guard.)
//
// Wildcards: a review asking about resource "*" or verb "*" is matched by kubeport's rules as the
// literal string "*": a deny rule on `secrets` (or on verb `delete`) does not match it, so the review
// goes upstream and the cluster says yes to "get * in default" / "* pods/web-0", though kubeport
// refuses secrets there / delete of web-0. Likewise a resource spelled with its subresource
// (`resource: "pods/exec"`, no subresource): the cluster's RBAC matches it as pods/exec (it joins
// resource and subresource with "/"), kubeport as a kind named "pods/exec" that its deny rule on
// pods does not name.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Hit, type Rig, resourceRole, startRig, user } from "./harness.ts";

let rig: Rig;
const tokens: Record<string, string> = {};
const SSAR = "/v1/clusters/c/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

beforeAll(async () => {
  rig = await startRig([
    resourceRole("web-reader", [
      { kind: "pods", namespace: "default", name: "web-*", verbs: ["get", "list", "watch"] },
    ]),
    user("wendy", ["web-reader"]),
    resourceRole(
      "all-but-secrets",
      [{ kind: "*", namespace: "default", name: "*", verbs: ["*"] }],
      [
        { kind: "secrets", namespace: "default", name: "*", verbs: ["*"] },
        { kind: "pods", namespace: "default", name: "web-0", verbs: ["delete"] },
        { kind: "pods", namespace: "default", name: "db-0", verbs: ["exec"] },
      ],
    ),
    user("sam", ["all-but-secrets"]),
    resourceRole("default-everything", [{ kind: "*", namespace: "default", name: "*", verbs: ["*"] }]),
    user("rita", ["default-everything"]),
  ]);
  for (const name of ["wendy", "sam", "rita"]) tokens[name] = await rig.token(name);
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

/** Reviews that reached upstream carrying `marker` (the gateway's own health-check reviews excluded). */
const reviewsWith = (hits: Hit[], marker: string) =>
  hits
    .filter((h) => h.path.endsWith("/selfsubjectaccessreviews") && h.body.includes(marker))
    .map((h) => h.body);

/** A SelfSubjectAccessReview asking about these resourceAttributes (kubectl also sends apiVersion). */
const ask = (resourceAttributes: Record<string, string>, apiVersion?: string) =>
  JSON.stringify({
    ...(apiVersion ? { apiVersion } : {}),
    kind: "SelfSubjectAccessReview",
    spec: { resourceAttributes },
  });

interface Case {
  name: string;
  as: "wendy" | "sam" | "rita";
  /** The review's JSON, as sent (a repeated member is written out by hand). */
  body: string;
  /** What the review carries that nothing else upstream sees: how a forwarded one is found. */
  marker: string;
  /**
   * no: the gateway answers it (201, allowed false; with `reason`, denied true and the reason naming
   * the rule); unreadable: 400 naming the member; cluster: forwarded, the cluster's RBAC answers.
   * Only `cluster` may reach upstream.
   */
  want: { answer: "no"; reason?: string } | { answer: "unreadable"; message: string } | { answer: "cluster" };
}

const CASES: Case[] = [
  {
    name: "control: can-i get pods/db-0 is answered no by the gateway, nothing upstream",
    as: "wendy",
    body: ask(
      { namespace: "default", verb: "get", resource: "pods", name: "db-0" },
      "authorization.k8s.io/v1",
    ),
    marker: "db-0",
    want: { answer: "no" },
  },
  {
    // Refused as unreadable (400, naming the member) — never forwarded for the cluster to answer
    // about db-0.
    name: "a repeated resourceAttributes (Go merges: get pods/db-0) never reaches the cluster",
    as: "wendy",
    body:
      '{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{' +
      '"resourceAttributes":{"name":"db-0"},' +
      '"resourceAttributes":{"namespace":"default","verb":"get","resource":"pods"}}}',
    marker: "db-0",
    want: { answer: "unreadable", message: '"spec.resourceAttributes" appears more than once' },
  },
  {
    name: "a repeated spec (Go merges both into one ResourceAttributes) never reaches the cluster",
    as: "wendy",
    body:
      '{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview",' +
      '"spec":{"resourceAttributes":{"name":"db-0"}},' +
      '"spec":{"resourceAttributes":{"namespace":"default","verb":"get","resource":"pods"}}}',
    marker: "db-0",
    want: { answer: "unreadable", message: '"spec" appears more than once' },
  },
  {
    name: "control: can-i get secrets -n default is answered no by the gateway",
    as: "sam",
    body: ask({ namespace: "default", verb: "get", resource: "secrets", group: "" }),
    marker: '"secrets"',
    want: { answer: "no" },
  },
  {
    name: "can-i get '*' -n default (secrets included, kubeport denies them) is not handed to the cluster to answer",
    as: "sam",
    body: ask({ namespace: "default", verb: "get", resource: "*", group: "*" }),
    marker: '"resource":"*"',
    want: { answer: "no", reason: 'role "all-but-secrets" denies it' },
  },
  {
    name: "can-i '*' pods/web-0 (delete of web-0 is denied) is not handed to the cluster to answer",
    as: "sam",
    body: ask({ namespace: "default", verb: "*", resource: "pods", name: "web-0" }),
    marker: '"verb":"*"',
    want: { answer: "no", reason: "deny.kubernetes_resources[1]" },
  },
  {
    name: "control: can-i create pods/exec db-0 (subresource field) is answered no by the gateway",
    as: "sam",
    body: ask({ namespace: "default", verb: "create", resource: "pods", subresource: "exec", name: "db-0" }),
    marker: '"db-0"',
    want: { answer: "no" },
  },
  {
    name: 'resource "pods/exec" (the cluster reads pods/exec) is not handed to the cluster for db-0, whose exec is denied',
    as: "sam",
    body: ask({ namespace: "default", verb: "create", resource: "pods/exec", name: "db-0" }),
    marker: '"pods/exec"',
    want: { answer: "no", reason: "deny.kubernetes_resources[2]" },
  },
  {
    name: '"pods/exec" with a subresource field too is refused as unreadable, not guessed at',
    as: "sam",
    body: ask({
      namespace: "default",
      verb: "create",
      resource: "pods/exec",
      subresource: "x",
      name: "db-0",
    }),
    marker: '"pods/exec"',
    want: { answer: "unreadable", message: "spec.resourceAttributes.resource" },
  },
  {
    name: "a '*' one allow rule covers, and no deny rule meets, goes to the cluster",
    as: "rita",
    body: ask({ namespace: "default", verb: "*", resource: "*", group: "*" }),
    marker: '"verb":"*"',
    want: { answer: "cluster" },
  },
  {
    name: "a '*' outside the one allow rule is answered no",
    as: "rita",
    body: ask({ namespace: "kube-system", verb: "get", resource: "*", group: "*" }),
    marker: "kube-system",
    want: { answer: "no" },
  },
];

for (const c of CASES)
  test(c.name, async () => {
    const hits = rig.mark();
    const res = await rig.gw.fetch(SSAR, {
      token: tokens[c.as],
      method: "POST",
      body: c.body,
      headers: { "content-type": "application/json" },
    });
    const text = await res.text();
    const forwarded = reviewsWith(hits(), c.marker);
    if (c.want.answer === "cluster") return void expect(forwarded.length).toBe(1);
    expect({ status: res.status, forwarded }).toEqual({
      status: c.want.answer === "no" ? 201 : 400,
      forwarded: [],
    });
    if (c.want.answer === "unreadable")
      return void expect((JSON.parse(text) as { message: string }).message).toContain(c.want.message);
    const { status } = JSON.parse(text) as {
      status: { allowed: boolean; denied?: boolean; reason?: string };
    };
    expect(status.allowed).toBe(false);
    if (c.want.reason === undefined) return;
    expect(status.denied).toBe(true);
    expect(status.reason).toContain(c.want.reason);
  });
