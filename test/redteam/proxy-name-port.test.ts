// Red team (issue 10): pods/NAME/proxy takes `[scheme:]name[:port]` as its name (the API server's
// utilnet.SplitSchemeNamePort), and proxies to the pod `name`. kubernetes_resources matches the
// whole segment, so a deny rule on a pod's name misses `secret-pod:80` and `http:secret-pod:80`,
// and the request reaches the denied pod through the proxy.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Rig, resourceRole, startRig, user } from "./harness.ts";

let rig: Rig;
let exact: string;
let glob: string;
const pods = "/v1/clusters/c/api/v1/namespaces/default/pods";

beforeAll(async () => {
  rig = await startRig([
    resourceRole(
      "all-but-secret",
      [{ kind: "pods", namespace: "*", name: "*", verbs: ["*"] }],
      [{ kind: "pods", namespace: "default", name: "secret-pod", verbs: ["*"] }],
    ),
    resourceRole(
      "all-but-secret-glob",
      [{ kind: "pods", namespace: "*", name: "*", verbs: ["*"] }],
      [{ kind: "pods", namespace: "default", name: "secret-*", verbs: ["*"] }],
    ),
    user("pat", ["all-but-secret"]),
    user("gus", ["all-but-secret-glob"]),
  ]);
  exact = await rig.token("pat");
  glob = await rig.token("gus");
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

test("control: pods/secret-pod/proxy is refused before upstream", async () => {
  const hits = rig.mark();
  const res = await rig.gw.fetch(`${pods}/secret-pod/proxy/`, { token: exact });
  expect(res.status).toBe(403);
  await res.text();
  expect(hits()).toEqual([]);
});

test.each([
  ["pat (deny name: secret-pod)", "secret-pod:80"],
  ["pat (deny name: secret-pod)", "http:secret-pod:80"],
  ["pat (deny name: secret-pod)", "https:secret-pod:443"],
  ["gus (deny name: secret-*)", "http:secret-pod:80"],
])("%s: pods/%s/proxy (the denied pod, with a port or scheme) never reaches upstream", async (who, name) => {
  const token = who.startsWith("pat") ? exact : glob;
  const hits = rig.mark();
  const res = await rig.gw.fetch(`${pods}/${name}/proxy/`, { token });
  const status = res.status;
  await res.text();
  expect({ status, upstream: hits().map((h) => h.target) }).toEqual({ status: 403, upstream: [] });
});
