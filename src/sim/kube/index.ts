// Simulated EKS Kubernetes API servers (test/demo only; production code never imports src/sim).
export {
  type AccessEntryLookup,
  type AccessEntryView,
  ADMIN_POLICY,
  parseToken,
  type RequestIdentity,
} from "./auth.ts";
export {
  type ExecRecord,
  type KubeSim,
  type KubeSimOptions,
  type RecordedRequest,
  startKubeSim,
} from "./server.ts";
export { type AddPodOptions, type KubeObject, ObjectStore } from "./store.ts";
