// Red team (issue 10): a protobuf create whose object carries its ObjectMeta twice. The gateway reads
// the name from the first ObjectMeta field; the API server's generated protobuf code merges repeated
// occurrences of a message field into one ObjectMeta (each later `name` overwriting the earlier), so
// the object is created under the last name. A role that allows creating only `web-*` ConfigMaps
// creates kube-system/aws-auth (EKS's IAM-to-RBAC map) this way.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { decodeEnvelope, encodeEnvelope } from "../../src/gateway/filter/index.ts";
import { type Rig, resourceRole, startRig, user } from "./harness.ts";

let rig: Rig;
let token: string;
const cms = "/v1/clusters/c/api/v1/namespaces/kube-system/configmaps";

beforeAll(async () => {
  rig = await startRig([
    resourceRole("web-config", [
      { kind: "configmaps", namespace: "kube-system", name: "web-*", verbs: ["get", "create"] },
    ]),
    user("pia", ["web-config"]),
  ]);
  token = await rig.token("pia");
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

/** ObjectMeta: 1 name, 3 namespace. */
const objectMeta = (name: string, namespace: string) => {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string(name);
  w.tag(3, WireType.LengthDelimited).string(namespace);
  return w.finish();
};

/** A v1 ConfigMap in the k8s protobuf envelope, its field 1 (ObjectMeta) written once per name. */
function configMap(names: string[]): Uint8Array {
  const w = new BinaryWriter();
  for (const n of names) w.tag(1, WireType.LengthDelimited).bytes(objectMeta(n, "kube-system"));
  return encodeEnvelope({
    apiVersion: "v1",
    kind: "ConfigMap",
    raw: w.finish(),
    contentEncoding: "",
    contentType: "",
  });
}

/** The name the API server's decoder ends up with: the ObjectMeta fields merged, the last name wins. */
function mergedName(body: Uint8Array): string {
  const r = new BinaryReader(decodeEnvelope(body).raw);
  let name = "";
  while (r.pos < r.len) {
    const [f, wt] = r.tag();
    if (f !== 1 || wt !== WireType.LengthDelimited) {
      r.skip(wt);
      continue;
    }
    const m = new BinaryReader(r.bytes());
    while (m.pos < m.len) {
      const [mf, mw] = m.tag();
      if (mf === 1 && mw === WireType.LengthDelimited) name = m.string();
      else m.skip(mw);
    }
  }
  return name;
}

const post = (body: Uint8Array) =>
  rig.gw.fetch(cms, {
    token,
    method: "POST",
    body: body as Uint8Array<ArrayBuffer>,
    headers: { "content-type": "application/vnd.kubernetes.protobuf" },
  });

test("control: a protobuf create of aws-auth is refused before upstream; web-1 is allowed", async () => {
  let hits = rig.mark();
  const refused = await post(configMap(["aws-auth"]));
  expect(refused.status).toBe(403);
  await refused.text();
  expect(hits()).toEqual([]);
  hits = rig.mark();
  const ok = await post(configMap(["web-1"]));
  expect(ok.status).toBe(201);
  await ok.text();
  expect(hits().length).toBe(1);
});

test("ObjectMeta twice (web-1, then aws-auth): nothing the API server would create as aws-auth reaches it", async () => {
  const body = configMap(["web-1", "aws-auth"]);
  expect(mergedName(body)).toBe("aws-auth");
  const hits = rig.mark();
  const res = await post(body);
  const status = res.status;
  await res.text();
  const created = hits().map((h) => mergedName(h.bytes));
  expect({ status, createdUpstreamAs: created }).toEqual({ status: 403, createdUpstreamAs: [] });
});
