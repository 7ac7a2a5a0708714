// Watches pods with @kubernetes/client-node from $KUBECONFIG and prints one JSON line per event,
// then {"done": <error message or null>} when the watch ends (run as a subprocess, CA from NODE_EXTRA_CA_CERTS).
import { KubeConfig, Watch } from "@kubernetes/client-node";

const kc = new KubeConfig();
kc.loadFromDefault();
await new Watch(kc).watch(
  "/api/v1/namespaces/default/pods",
  {},
  (type: string, obj: { metadata?: { name?: string } }) => {
    console.log(JSON.stringify({ type, name: obj.metadata?.name }));
  },
  (err: unknown) => {
    console.log(JSON.stringify({ done: err ? String((err as Error).message ?? err) : null }));
    process.exit(0);
  },
);
