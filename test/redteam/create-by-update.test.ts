// Red team 3 (issue 10): objects created without the create verb. kubernetes_resources checks a
// PATCH as `patch` and a PUT as `update`, but the API server creates the object when it does not
// exist yet:
// - server-side apply (PATCH with Content-Type application/apply-patch+yaml, what `kubectl apply
//   --server-side` sends) creates any kind;
// - PUT creates kinds whose strategy allows create on update (RBAC roles and bindings, leases,
//   endpoints …).
// kube-apiserver itself authorizes such a request a second time as `create` when it creates
// (update.go / patch.go: withAuthorization(…, createAuthorizerAttributes)); kubeport does not, so a
// role that grants patch/update and not create (or denies create) still creates objects.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Rig, resourceRole, startRig, user } from "./harness.ts";

let rig: Rig;
let token: string;
const ns = "/v1/clusters/c";

beforeAll(async () => {
  rig = await startRig([
    resourceRole(
      "editor-no-create",
      [
        { kind: "configmaps", namespace: "default", name: "*", verbs: ["get", "list", "patch", "update"] },
        {
          kind: "rolebindings",
          api_group: "rbac.authorization.k8s.io",
          namespace: "default",
          name: "*",
          verbs: ["get", "update"],
        },
      ],
      [
        { kind: "configmaps", namespace: "default", name: "*", verbs: ["create"] },
        {
          kind: "rolebindings",
          api_group: "rbac.authorization.k8s.io",
          namespace: "default",
          name: "*",
          verbs: ["create"],
        },
      ],
    ),
    user("eddie", ["editor-no-create"]),
  ]);
  token = await rig.token("eddie");
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

test("control: POST (create) of a ConfigMap is refused before upstream", async () => {
  const hits = rig.mark();
  const res = await rig.gw.fetch(`${ns}/api/v1/namespaces/default/configmaps`, {
    token,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "planted" } }),
  });
  await res.text();
  expect({ status: res.status, upstream: hits().length }).toEqual({ status: 403, upstream: 0 });
});

test("server-side apply of a new ConfigMap (the API server creates it) is refused like its create", async () => {
  const hits = rig.mark();
  const res = await rig.gw.fetch(
    `${ns}/api/v1/namespaces/default/configmaps/planted?fieldManager=kubectl&force=true`,
    {
      token,
      method: "PATCH",
      headers: { "content-type": "application/apply-patch+yaml" },
      body: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: planted\n  namespace: default\ndata:\n  x: y\n",
    },
  );
  await res.text();
  expect({ upstream: hits().map((h) => `${h.method} ${h.path} ${h.headers.get("content-type")}`) }).toEqual({
    upstream: [],
  });
});

test("PUT of a new RoleBinding (RBAC kinds are created on update) is refused like its create", async () => {
  const hits = rig.mark();
  const res = await rig.gw.fetch(
    `${ns}/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/planted-admin`,
    {
      token,
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "planted-admin", namespace: "default" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "admin" },
        subjects: [{ kind: "Group", name: "developers", apiGroup: "rbac.authorization.k8s.io" }],
      }),
    },
  );
  await res.text();
  expect({ upstream: hits().map((h) => `${h.method} ${h.path}`) }).toEqual({ upstream: [] });
});
