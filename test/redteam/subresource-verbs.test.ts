// Red team 3 (issue 10): subresources are checked as the parent kind with the HTTP verb, so a
// subresource that does what another verb does slips past a deny rule on that verb:
// - POST pods/db-0/eviction deletes db-0 (the API server evicts = deletes the pod), checked as
//   `create pods db-0`: a role that denies `delete` of db-0 but allows `create` of pods lets it go;
// - PATCH pods/db-0/ephemeralcontainers adds a container of any image with any command to db-0 (what
//   `kubectl debug` does: a shell inside the pod), checked as `patch pods db-0`: a deny of `exec` on
//   db-0 does not stop it;
// - POST serviceaccounts/deployer/token mints a token for an existing ServiceAccount (credentials
//   usable against the cluster directly, outside kubeport), checked as `create serviceaccounts
//   deployer`: a rule meant for creating ServiceAccounts named ci-* … covers minting tokens of
//   every one it names;
// - GET nodes/NODE/proxy/containerLogs/default/vault-0/app reaches the kubelet, which answers vault-0's
//   logs (and …/proxy/pods every pod spec on the node, env included), checked as `get nodes NODE`:
//   a deny of everything on vault-0 does not apply.
// Each assertion is on what reached upstream.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Rig, resourceRole, startRig, user } from "./harness.ts";

let rig: Rig;
let token: string;
const ns = "/v1/clusters/c/api/v1/namespaces/default";

beforeAll(async () => {
  rig = await startRig([
    resourceRole(
      "pod-operator",
      [
        { kind: "pods", namespace: "default", name: "*", verbs: ["get", "list", "create", "patch"] },
        { kind: "serviceaccounts", namespace: "default", name: "*", verbs: ["create"] },
        // Read node objects (kubectl get nodes / describe node).
        { kind: "nodes", name: "*", verbs: ["get", "list"] },
      ],
      [
        // db-0 must never be deleted or exec'd into by this role.
        { kind: "pods", namespace: "default", name: "db-0", verbs: ["delete", "exec"] },
        // vault-0: nothing at all.
        { kind: "pods", namespace: "default", name: "vault-0", verbs: ["*"] },
      ],
    ),
    user("olga", ["pod-operator"]),
  ]);
  token = await rig.token("olga");
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

const json = { "content-type": "application/json" };

test("control: DELETE pods/db-0 is refused before upstream", async () => {
  const hits = rig.mark();
  const res = await rig.gw.fetch(`${ns}/pods/db-0`, { token, method: "DELETE" });
  await res.text();
  expect({ status: res.status, upstream: hits().map((h) => `${h.method} ${h.path}`) }).toEqual({
    status: 403,
    upstream: [],
  });
});

test("an eviction of db-0 (deletes it) is refused like its DELETE", async () => {
  const hits = rig.mark();
  const res = await rig.gw.fetch(`${ns}/pods/db-0/eviction`, {
    token,
    method: "POST",
    headers: json,
    body: JSON.stringify({
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: "db-0", namespace: "default" },
    }),
  });
  await res.text();
  expect({ upstream: hits().map((h) => `${h.method} ${h.path}`) }).toEqual({ upstream: [] });
});

test("an ephemeral container added to db-0 (a shell in it) is refused like exec into it", async () => {
  const hits = rig.mark();
  const res = await rig.gw.fetch(`${ns}/pods/db-0/ephemeralcontainers`, {
    token,
    method: "PATCH",
    headers: { "content-type": "application/strategic-merge-patch+json" },
    body: JSON.stringify({
      spec: {
        ephemeralContainers: [
          {
            name: "debugger",
            image: "busybox",
            command: ["sh", "-c", "cat /proc/1/environ"],
            stdin: true,
            tty: true,
          },
        ],
      },
    }),
  });
  await res.text();
  expect({ upstream: hits().map((h) => `${h.method} ${h.path}`) }).toEqual({ upstream: [] });
});

test("a token minted for an existing ServiceAccount is not allowed by a rule granting only the create verb on serviceaccounts", async () => {
  const hits = rig.mark();
  const res = await rig.gw.fetch(`${ns}/serviceaccounts/deployer/token`, {
    token,
    method: "POST",
    headers: json,
    body: JSON.stringify({
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 86400 },
    }),
  });
  await res.text();
  expect({ upstream: hits().map((h) => `${h.method} ${h.path}`) }).toEqual({ upstream: [] });
});

test("vault-0's logs through the kubelet (nodes/NODE/proxy/containerLogs) are refused like pods/vault-0/log", async () => {
  const control = rig.mark();
  const direct = await rig.gw.fetch(`${ns}/pods/vault-0/log?container=app`, { token });
  await direct.text();
  expect({ status: direct.status, upstream: control().length }).toEqual({ status: 403, upstream: 0 });
  const hits = rig.mark();
  const res = await rig.gw.fetch(
    "/v1/clusters/c/api/v1/nodes/node-1/proxy/containerLogs/default/vault-0/app",
    {
      token,
    },
  );
  await res.text();
  expect({ upstream: hits().map((h) => `${h.method} ${h.path}`) }).toEqual({ upstream: [] });
});
