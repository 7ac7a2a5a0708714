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
let wendy: string;
let sam: string;
let rita: string;
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
  wendy = await rig.token("wendy");
  sam = await rig.token("sam");
  rita = await rig.token("rita");
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

const review = (token: string, body: string) =>
  rig.gw.fetch(SSAR, { token, method: "POST", body, headers: { "content-type": "application/json" } });

/** Reviews that reached upstream carrying `marker` (the gateway's own health-check reviews excluded). */
const reviewsWith = (hits: Hit[], marker: string) =>
  hits
    .filter((h) => h.path.endsWith("/selfsubjectaccessreviews") && h.body.includes(marker))
    .map((h) => h.body);

test("control: can-i get pods/db-0 is answered no by the gateway, nothing upstream", async () => {
  const hits = rig.mark();
  const res = await review(
    wendy,
    JSON.stringify({
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { namespace: "default", verb: "get", resource: "pods", name: "db-0" } },
    }),
  );
  const body = (await res.json()) as { status: { allowed: boolean } };
  expect({ status: res.status, allowed: body.status.allowed, upstream: reviewsWith(hits(), "db-0") }).toEqual(
    {
      status: 201,
      allowed: false,
      upstream: [],
    },
  );
});

test("a repeated resourceAttributes (Go merges: get pods/db-0) never reaches the cluster", async () => {
  const hits = rig.mark();
  const res = await review(
    wendy,
    '{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{' +
      '"resourceAttributes":{"name":"db-0"},' +
      '"resourceAttributes":{"namespace":"default","verb":"get","resource":"pods"}}}',
  );
  const status = res.status;
  const { message } = (await res.json()) as { message: string };
  // Refused as unreadable (400, naming the member) — never forwarded for the cluster to answer
  // about db-0.
  expect({ forwarded: reviewsWith(hits(), "db-0") }).toEqual({ forwarded: [] });
  expect(status).toBe(400);
  expect(message).toContain('"spec.resourceAttributes" appears more than once');
});

test("a repeated spec (Go merges both into one ResourceAttributes) never reaches the cluster", async () => {
  const hits = rig.mark();
  const res = await review(
    wendy,
    '{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview",' +
      '"spec":{"resourceAttributes":{"name":"db-0"}},' +
      '"spec":{"resourceAttributes":{"namespace":"default","verb":"get","resource":"pods"}}}',
  );
  const status = res.status;
  const { message } = (await res.json()) as { message: string };
  expect({ forwarded: reviewsWith(hits(), "db-0") }).toEqual({ forwarded: [] });
  expect(status).toBe(400);
  expect(message).toContain('"spec" appears more than once');
});

test("control: can-i get secrets -n default is answered no by the gateway", async () => {
  const hits = rig.mark();
  const res = await review(
    sam,
    JSON.stringify({
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { namespace: "default", verb: "get", resource: "secrets", group: "" } },
    }),
  );
  const body = (await res.json()) as { status: { allowed: boolean } };
  expect({ allowed: body.status.allowed, upstream: reviewsWith(hits(), '"secrets"') }).toEqual({
    allowed: false,
    upstream: [],
  });
});

test("can-i get '*' -n default (secrets included, kubeport denies them) is not handed to the cluster to answer", async () => {
  const hits = rig.mark();
  const res = await review(
    sam,
    JSON.stringify({
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { namespace: "default", verb: "get", resource: "*", group: "*" } },
    }),
  );
  const body = (await res.json()) as { status: { allowed: boolean; denied: boolean; reason: string } };
  expect({ forwarded: reviewsWith(hits(), '"resource":"*"') }).toEqual({ forwarded: [] });
  expect([res.status, body.status.allowed, body.status.denied]).toEqual([201, false, true]);
  expect(body.status.reason).toContain('role "all-but-secrets" denies it');
});

test("can-i '*' pods/web-0 (delete of web-0 is denied) is not handed to the cluster to answer", async () => {
  const hits = rig.mark();
  const res = await review(
    sam,
    JSON.stringify({
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { namespace: "default", verb: "*", resource: "pods", name: "web-0" } },
    }),
  );
  const body = (await res.json()) as { status: { allowed: boolean; denied: boolean; reason: string } };
  expect({ forwarded: reviewsWith(hits(), '"verb":"*"') }).toEqual({ forwarded: [] });
  expect([res.status, body.status.allowed, body.status.denied]).toEqual([201, false, true]);
  expect(body.status.reason).toContain("deny.kubernetes_resources[1]");
});

test("control: can-i create pods/exec db-0 (subresource field) is answered no by the gateway", async () => {
  const hits = rig.mark();
  const res = await review(
    sam,
    JSON.stringify({
      kind: "SelfSubjectAccessReview",
      spec: {
        resourceAttributes: {
          namespace: "default",
          verb: "create",
          resource: "pods",
          subresource: "exec",
          name: "db-0",
        },
      },
    }),
  );
  const body = (await res.json()) as { status: { allowed: boolean } };
  expect({ allowed: body.status.allowed, upstream: reviewsWith(hits(), '"db-0"') }).toEqual({
    allowed: false,
    upstream: [],
  });
});

test('resource "pods/exec" (the cluster reads pods/exec) is not handed to the cluster for db-0, whose exec is denied', async () => {
  const hits = rig.mark();
  const res = await review(
    sam,
    JSON.stringify({
      kind: "SelfSubjectAccessReview",
      spec: {
        resourceAttributes: { namespace: "default", verb: "create", resource: "pods/exec", name: "db-0" },
      },
    }),
  );
  const body = (await res.json()) as { status: { allowed: boolean; denied: boolean; reason: string } };
  expect({ forwarded: reviewsWith(hits(), '"pods/exec"') }).toEqual({ forwarded: [] });
  expect([res.status, body.status.allowed, body.status.denied]).toEqual([201, false, true]);
  expect(body.status.reason).toContain("deny.kubernetes_resources[2]");
});

test('"pods/exec" with a subresource field too is refused as unreadable, not guessed at', async () => {
  const hits = rig.mark();
  const res = await review(
    sam,
    JSON.stringify({
      kind: "SelfSubjectAccessReview",
      spec: {
        resourceAttributes: {
          namespace: "default",
          verb: "create",
          resource: "pods/exec",
          subresource: "x",
          name: "db-0",
        },
      },
    }),
  );
  const { message } = (await res.json()) as { message: string };
  expect({ status: res.status, forwarded: reviewsWith(hits(), '"pods/exec"') }).toEqual({
    status: 400,
    forwarded: [],
  });
  expect(message).toContain("spec.resourceAttributes.resource");
});

test("a '*' one allow rule covers, and no deny rule meets, goes to the cluster; outside it, answered no", async () => {
  const hits = rig.mark();
  const everything = await review(
    rita,
    JSON.stringify({
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { namespace: "default", verb: "*", resource: "*", group: "*" } },
    }),
  );
  await everything.text();
  expect(reviewsWith(hits(), '"verb":"*"').length).toBe(1);
  const elsewhere = await review(
    rita,
    JSON.stringify({
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { namespace: "kube-system", verb: "get", resource: "*", group: "*" } },
    }),
  );
  const body = (await elsewhere.json()) as { status: { allowed: boolean } };
  expect({ allowed: body.status.allowed, forwarded: reviewsWith(hits(), "kube-system") }).toEqual({
    allowed: false,
    forwarded: [],
  });
});
