// Red team (issue 10): a create names its object in the body, and the gateway reads that name with
// JSON.parse. Two ways the API server creates an object a deny rule names while the gateway reads
// another name:
// - a repeated "metadata" member: JSON.parse keeps only the last object, Go's decoder (the API
//   server's, sigs.k8s.io/json) merges both into the one ObjectMeta, so `{"metadata":{"name":
//   "aws-auth"},"metadata":{}}` is "" here and aws-auth upstream (duplicates are only a warning under
//   the server's default fieldValidation);
// - generateName: the gateway checks the name "" and the API server names it `secret-<random>`.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Rig, resourceRole, startRig, user } from "./harness.ts";

let rig: Rig;
let token: string;
const cms = "/v1/clusters/c/api/v1/namespaces/kube-system/configmaps";

beforeAll(async () => {
  rig = await startRig([
    resourceRole("web-only", [
      { kind: "configmaps", namespace: "kube-system", name: "web-*", verbs: ["create"] },
    ]),
    user("wes", ["web-only"]),
    resourceRole(
      "no-aws-auth",
      [{ kind: "configmaps", namespace: "*", name: "*", verbs: ["*"] }],
      [
        { kind: "configmaps", namespace: "kube-system", name: "aws-auth", verbs: ["*"] },
        { kind: "configmaps", namespace: "kube-system", name: "secret-*", verbs: ["*"] },
      ],
    ),
    user("carl", ["no-aws-auth"]),
  ]);
  token = await rig.token("carl");
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

const post = (body: string) =>
  rig.gw.fetch(cms, { token, method: "POST", body, headers: { "content-type": "application/json" } });

test("control: creating aws-auth is refused before upstream", async () => {
  const hits = rig.mark();
  const res = await post(
    JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "aws-auth", namespace: "kube-system" },
    }),
  );
  expect(res.status).toBe(403);
  await res.text();
  expect(hits()).toEqual([]);
});

test("a repeated metadata member (Go merges them: the name is aws-auth) never reaches upstream", async () => {
  const hits = rig.mark();
  const res = await post(
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"aws-auth","namespace":"kube-system"},"metadata":{"namespace":"kube-system"},"data":{"mapRoles":"- rolearn: arn:aws:iam::111111111111:role/attacker\\n  groups: [system:masters]"}}',
  );
  const status = res.status;
  const text = ((await res.json()) as { message: string }).message;
  // Refused as bad input (400 naming the repeated member) rather than read one way: the API server
  // reads it two ways itself (merged into a built-in kind's struct, last-wins for a custom resource).
  expect({ status, upstream: hits().map((h) => h.body.slice(0, 60)) }).toEqual({ status: 400, upstream: [] });
  expect(text).toContain('"metadata" more than once');
});

test("generateName of a denied prefix (the API server names it secret-xxxxx) never reaches upstream", async () => {
  const hits = rig.mark();
  const res = await post(
    JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { generateName: "secret-", namespace: "kube-system" },
    }),
  );
  const status = res.status;
  await res.text();
  expect({ status, upstream: hits().map((h) => h.body.slice(0, 60)) }).toEqual({ status: 403, upstream: [] });
});

test("generateName is checked as every name it can become: web-x- under web-* passes, we- does not", async () => {
  const wes = await rig.token("wes");
  const create = (generateName: string) =>
    rig.gw.fetch(cms, {
      token: wes,
      method: "POST",
      body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { generateName } }),
      headers: { "content-type": "application/json" },
    });
  let hits = rig.mark();
  const ok = await create("web-x-");
  expect(ok.status).toBe(201);
  await ok.text();
  expect(hits().length).toBe(1);
  hits = rig.mark();
  // "we" + random characters may be "wexyz": not every name it can become is web-*.
  const refused = await create("we");
  const text = ((await refused.json()) as { message: string }).message;
  expect({ status: refused.status, upstream: hits().length }).toEqual({ status: 403, upstream: 0 });
  expect(text).toContain('generateName "we"');
});

test("metadata followed by a null metadata (Go keeps the first, JSON.parse the null) is refused", async () => {
  const hits = rig.mark();
  const res = await post(
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"aws-auth"},"metadata":null}',
  );
  await res.text();
  expect({ status: res.status, upstream: hits().length }).toEqual({ status: 400, upstream: 0 });
});
