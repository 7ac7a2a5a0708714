// An informer on pods with @kubernetes/client-node from $KUBECONFIG (a controller's way to watch):
// one JSON line per event — {"event":"add","name":…}, {"event":"connect"} on every (re)list and
// watch, {"event":"error","message":…}. A watch the server ends cleanly is listed and watched again.
// Run as a subprocess, CA from NODE_EXTRA_CA_CERTS.
import { CoreV1Api, KubeConfig, makeInformer, type V1Pod } from "@kubernetes/client-node";

const kc = new KubeConfig();
kc.loadFromDefault();
const api = kc.makeApiClient(CoreV1Api);
const path = "/api/v1/namespaces/default/pods";
const informer = makeInformer(kc, path, () => api.listNamespacedPod({ namespace: "default" }));
const say = (o: unknown) => console.log(JSON.stringify(o));
informer.on("add", (p: V1Pod) => say({ event: "add", name: p.metadata?.name }));
informer.on("connect", () => say({ event: "connect" }));
informer.on("error", (err: unknown) => {
  say({ event: "error", message: String((err as Error)?.message ?? err) });
  // As a controller would: start again after a moment.
  setTimeout(() => void informer.start(), 500);
});
await informer.start();
