// Run by kube.test.ts in its own process: @kubernetes/client-node under Bun ignores the kubeconfig CA
// (its undici dispatcher is dropped by Bun's fetch), so the CA comes from NODE_EXTRA_CA_CERTS, which
// Bun reads only at start-up. Prints one JSON object with what list, Watch, create/delete and Exec saw.
import { PassThrough } from "node:stream";
import * as k8s from "@kubernetes/client-node";

const kubeconfig = process.argv[2];
if (!kubeconfig) throw new Error("usage: client-node-probe.ts KUBECONFIG");
const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);
const api = kc.makeApiClient(k8s.CoreV1Api);
const within = <T>(ms: number, p: Promise<T>, what: string) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} timed out`)), ms)),
  ]);

const listed = (await api.listNamespacedPod({ namespace: "default" })).items.map(
  (p) => p.metadata?.name ?? "",
);

const events: string[] = [];
let sawDeleted: () => void = () => {};
const deleted = new Promise<void>((resolve) => {
  sawDeleted = resolve;
});
const watch = await new k8s.Watch(kc).watch(
  "/api/v1/namespaces/default/pods",
  { fieldSelector: "metadata.name=probe" },
  (type, obj: k8s.V1Pod) => {
    events.push(`${type} ${obj.metadata?.name} ${obj.status?.phase}`);
    if (type === "DELETED") sawDeleted();
  },
  (err) => {
    if (err && (err as Error).name !== "AbortError") events.push(`error ${String(err)}`);
    sawDeleted();
  },
);
await api.createNamespacedPod({
  namespace: "default",
  body: {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "probe" },
    spec: { containers: [{ name: "main", image: "busybox" }] },
  },
});
await Bun.sleep(500); // the simulated kubelet marks it Running after ~300 ms
await api.deleteNamespacedPod({ namespace: "default", name: "probe" });
await within(5000, deleted, "watch");
watch.abort();

let stdout = "";
const out = new PassThrough();
out.on("data", (d: Buffer) => {
  stdout += d.toString();
});
const status = await within(
  5000,
  new Promise<k8s.V1Status>((resolve, reject) => {
    new k8s.Exec(kc)
      .exec(
        "default",
        "web-0",
        "main",
        ["sh", "-c", "echo hi there; exit 4"],
        out,
        null,
        null,
        false,
        resolve,
      )
      .catch(reject);
  }),
  "exec",
);

console.log(JSON.stringify({ listed, events, exec: { stdout, status } }));
process.exit(0);
