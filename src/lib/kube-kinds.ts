// The built-in Kubernetes resources a role may name without saying more: their API group and scope.
// Role validation uses it (a namespaced kind needs a namespace, a non-core kind an api_group);
// anything not listed (custom resources) is taken as written.

export interface KnownKind {
  /** "" for the core group. */
  group: string;
  namespaced: boolean;
}

const ns = (group: string): KnownKind => ({ group, namespaced: true });
const cluster = (group: string): KnownKind => ({ group, namespaced: false });

/** Plural resource → group and scope, as `kubectl api-resources` lists them (Kubernetes 1.30–1.33). */
export const KNOWN_KINDS: Readonly<Record<string, KnownKind>> = {
  bindings: ns(""),
  componentstatuses: cluster(""),
  configmaps: ns(""),
  endpoints: ns(""),
  events: ns(""),
  limitranges: ns(""),
  namespaces: cluster(""),
  nodes: cluster(""),
  persistentvolumeclaims: ns(""),
  persistentvolumes: cluster(""),
  pods: ns(""),
  podtemplates: ns(""),
  replicationcontrollers: ns(""),
  resourcequotas: ns(""),
  secrets: ns(""),
  serviceaccounts: ns(""),
  services: ns(""),
  mutatingwebhookconfigurations: cluster("admissionregistration.k8s.io"),
  validatingwebhookconfigurations: cluster("admissionregistration.k8s.io"),
  customresourcedefinitions: cluster("apiextensions.k8s.io"),
  apiservices: cluster("apiregistration.k8s.io"),
  controllerrevisions: ns("apps"),
  daemonsets: ns("apps"),
  deployments: ns("apps"),
  replicasets: ns("apps"),
  statefulsets: ns("apps"),
  horizontalpodautoscalers: ns("autoscaling"),
  cronjobs: ns("batch"),
  jobs: ns("batch"),
  certificatesigningrequests: cluster("certificates.k8s.io"),
  leases: ns("coordination.k8s.io"),
  endpointslices: ns("discovery.k8s.io"),
  ingressclasses: cluster("networking.k8s.io"),
  ingresses: ns("networking.k8s.io"),
  networkpolicies: ns("networking.k8s.io"),
  runtimeclasses: cluster("node.k8s.io"),
  poddisruptionbudgets: ns("policy"),
  clusterrolebindings: cluster("rbac.authorization.k8s.io"),
  clusterroles: cluster("rbac.authorization.k8s.io"),
  rolebindings: ns("rbac.authorization.k8s.io"),
  roles: ns("rbac.authorization.k8s.io"),
  priorityclasses: cluster("scheduling.k8s.io"),
  csidrivers: cluster("storage.k8s.io"),
  csinodes: cluster("storage.k8s.io"),
  csistoragecapacities: ns("storage.k8s.io"),
  storageclasses: cluster("storage.k8s.io"),
  volumeattachments: cluster("storage.k8s.io"),
};

/** The known kind, or undefined for custom resources and anything this table does not list. */
export const knownKind = (kind: string): KnownKind | undefined =>
  Object.hasOwn(KNOWN_KINDS, kind) ? KNOWN_KINDS[kind] : undefined;

/** The verbs a kubernetes_resources rule may list (Teleport's types.KubernetesVerbs), besides "*". */
export const KUBE_RESOURCE_VERBS = [
  "get",
  "list",
  "watch",
  "create",
  "update",
  "patch",
  "delete",
  "deletecollection",
  "exec",
  "portforward",
] as const;
