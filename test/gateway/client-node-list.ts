// Lists pods with @kubernetes/client-node from $KUBECONFIG and prints their names as JSON (run as a
// subprocess: under Bun its undici shim ignores the per-cluster CA, so the CA comes from NODE_EXTRA_CA_CERTS).
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";

const kc = new KubeConfig();
kc.loadFromDefault();
const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: "default" });
console.log(JSON.stringify(pods.items.map((p) => p.metadata?.name)));
