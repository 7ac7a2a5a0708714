// meta.k8s.io/v1 Table rendering of pods and namespaces, with the columns kube-apiserver prints.
import type { KubeObject } from "./store.ts";

const col = (name: string, type: string, description: string, priority = 0, format = "") => ({
  name,
  type,
  format,
  description,
  priority,
});

const POD_COLUMNS = [
  col("Name", "string", "Name must be unique within a namespace.", 0, "name"),
  col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
  col("Status", "string", "The aggregate status of the containers in this pod."),
  col(
    "Restarts",
    "string",
    "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
  ),
  col(
    "Age",
    "string",
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
  ),
  col(
    "IP",
    "string",
    "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
    1,
  ),
  col("Node", "string", "NodeName indicates in which node this pod is scheduled.", 1),
  col(
    "Nominated Node",
    "string",
    "nominatedNodeName is set when this pod preempts other pods on the node.",
    1,
  ),
  col(
    "Readiness Gates",
    "string",
    "If specified, all readiness gates will be evaluated for pod readiness.",
    1,
  ),
];

const OTHER_COLUMNS = [
  col("Name", "string", "Name must be unique within a namespace.", 0, "name"),
  col(
    "Age",
    "string",
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
  ),
];

const columnsOf = (kind: string | undefined) =>
  kind === "Namespace"
    ? NAMESPACE_COLUMNS
    : kind === "Pod" || kind === undefined
      ? POD_COLUMNS
      : OTHER_COLUMNS;

const NAMESPACE_COLUMNS = [
  col("Name", "string", "Name must be unique within a namespace.", 0, "name"),
  col("Status", "string", "The status of the namespace"),
  col(
    "Age",
    "string",
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
  ),
];

/** True when the Accept header asks for a Table (kubectl get: `application/json;as=Table;v=v1;g=meta.k8s.io`). */
export function wantsTable(accept: string | null): boolean {
  return (
    !!accept && accept.split(",").some((part) => /;\s*as=Table/.test(part) && /g=meta\.k8s\.io/.test(part))
  );
}

/** One Table holding `objects`, with list metadata. */
export function toTable(
  objects: KubeObject[],
  listMeta: Record<string, string>,
  withColumns = true,
): KubeObject {
  const kind = objects[0]?.kind;
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    ...(withColumns ? { columnDefinitions: columnsOf(kind) } : {}),
    rows: objects.map(row),
  };
}

/** Table columns for a kind, for empty lists where the kind cannot be read from an object. */
export function emptyTable(kind: string, listMeta: Record<string, string>): KubeObject {
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    columnDefinitions: columnsOf(kind),
    rows: [],
  };
}

function row(o: KubeObject) {
  const object = { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
  const age = humanAge(Date.now() - Date.parse(o.metadata.creationTimestamp));
  if (o.kind === "Namespace") return { cells: [o.metadata.name, o.status?.phase ?? "Active", age], object };
  if (o.kind !== "Pod") return { cells: [o.metadata.name, age], object };
  const statuses = (o.status?.containerStatuses ?? []) as { ready: boolean; restartCount: number }[];
  const ready = statuses.filter((s) => s.ready).length;
  const restarts = statuses.reduce((n, s) => n + s.restartCount, 0);
  const total = (o.spec?.containers ?? []).length;
  const status = o.metadata.deletionTimestamp ? "Terminating" : (o.status?.phase ?? "Pending");
  const shownStatus = status === "Pending" && statuses.length ? "ContainerCreating" : status;
  return {
    cells: [
      o.metadata.name,
      `${ready}/${total}`,
      shownStatus,
      String(restarts),
      age,
      o.status?.podIP ?? "<none>",
      o.spec?.nodeName ?? "<none>",
      "<none>",
      "<none>",
    ],
    object,
  };
}

/** Kubernetes' duration.HumanDuration: 45s, 3m20s, 12m, 5h10m, 3d4h, 40d… */
export function humanAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}
