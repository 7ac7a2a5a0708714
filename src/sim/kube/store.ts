// In-memory objects of one simulated cluster: namespaces, pods and the other kinds of kinds.ts, a resourceVersion counter,
// a bounded event history for watches (older resourceVersions answer 410 Gone) and live subscribers.

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

/** A Kubernetes object as open-ended JSON (the simulator reads a few fields and passes the rest through). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  // biome-ignore lint/suspicious/noExplicitAny: open-ended JSON, read field by field
  metadata: Record<string, any>;
  // biome-ignore lint/suspicious/noExplicitAny: open-ended JSON, read field by field
  [k: string]: any;
}

export interface StoreEvent {
  type: WatchEventType;
  rv: number;
  object: KubeObject;
}

export interface AddPodOptions {
  labels?: Record<string, string>;
  image?: string;
  phase?: "Pending" | "Running" | "Succeeded" | "Failed";
  restarts?: number;
  createdAt?: Date;
}

type Listener = (ev: StoreEvent) => void;

/** Objects of one cluster; every change bumps the resourceVersion and is fanned out to watchers. */
export class ObjectStore {
  private rv = 1;
  private readonly pods = new Map<string, KubeObject>();
  private readonly namespaces = new Map<string, KubeObject>();
  /** Objects of the other kinds (sim/kube/kinds.ts), by kind then `namespace/name`. */
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private history: StoreEvent[] = [];
  /** Events at or below this resourceVersion are no longer in the history. */
  private oldestRv = 1;
  private readonly listeners = new Set<Listener>();

  constructor(private readonly historyLimit = 1000) {
    for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) this.addNamespace(ns);
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** The oldest resourceVersion a watch may still start from. */
  get oldestWatchableRv(): number {
    return this.oldestRv;
  }

  addNamespace(name: string): KubeObject {
    const ns: KubeObject = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name,
        uid: crypto.randomUUID(),
        resourceVersion: String(++this.rv),
        creationTimestamp: iso(new Date()),
      },
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Active" },
    };
    this.namespaces.set(name, ns);
    return ns;
  }

  namespace(name: string): KubeObject | undefined {
    return this.namespaces.get(name);
  }

  listNamespaces(): KubeObject[] {
    return [...this.namespaces.values()].sort((a, b) => cmp(a.metadata.name, b.metadata.name));
  }

  pod(ns: string, name: string): KubeObject | undefined {
    return this.pods.get(`${ns}/${name}`);
  }

  /** Pods sorted by namespace then name (the order of etcd keys); `ns` undefined = all namespaces. */
  listPods(ns?: string): KubeObject[] {
    return [...this.pods.values()]
      .filter((p) => ns === undefined || p.metadata.namespace === ns)
      .sort((a, b) => cmp(key(a), key(b)));
  }

  /** Creates a running pod with one container (the seed/test path). */
  addPod(ns: string, name: string, opts: AddPodOptions = {}): KubeObject {
    const created = opts.createdAt ?? new Date();
    const pod: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: ns, labels: opts.labels ?? { app: name.replace(/-\d+$/, "") } },
      spec: { containers: [{ name: "main", image: opts.image ?? "nginx:1.27" }] },
    };
    return this.createPod(pod, opts.phase ?? "Running", created, opts.restarts ?? 0);
  }

  /** Stores a pod from a create request, filling metadata and status the way the apiserver and kubelet would. */
  createPod(input: KubeObject, phase: string, created = new Date(), restarts = 0): KubeObject {
    const ns = input.metadata.namespace as string;
    const name = input.metadata.name as string;
    if (this.pods.has(`${ns}/${name}`)) throw new Error(`pod ${ns}/${name} exists`);
    const pod: KubeObject = structuredClone(input);
    pod.apiVersion = "v1";
    pod.kind = "Pod";
    pod.metadata.uid = crypto.randomUUID();
    pod.metadata.creationTimestamp = iso(created);
    pod.spec ??= {};
    pod.spec.containers ??= [{ name: "main", image: "busybox" }];
    pod.spec.nodeName ??= "ip-10-0-1-23.ec2.internal";
    pod.spec.restartPolicy ??= "Always";
    pod.status = podStatus(pod, phase, created, restarts);
    this.pods.set(`${ns}/${name}`, pod);
    this.emit("ADDED", pod);
    return structuredClone(pod);
  }

  /** Moves a pod to another phase (e.g. Pending → Running), emitting MODIFIED. */
  setPhase(ns: string, name: string, phase: string): KubeObject | undefined {
    const pod = this.pods.get(`${ns}/${name}`);
    if (!pod) return undefined;
    pod.status = podStatus(pod, phase, new Date(pod.metadata.creationTimestamp), 0);
    this.emit("MODIFIED", pod);
    return structuredClone(pod);
  }

  /** Deletes a pod at once (no grace period), emitting DELETED; undefined when absent. */
  deletePod(ns: string, name: string): KubeObject | undefined {
    const pod = this.pods.get(`${ns}/${name}`);
    if (!pod) return undefined;
    this.pods.delete(`${ns}/${name}`);
    this.emit("DELETED", pod);
    return structuredClone(pod);
  }

  /** Stores an object of another kind (ConfigMap, Deployment, CronTab, Node …), emitting ADDED. */
  addObject(input: KubeObject): KubeObject {
    const obj: KubeObject = structuredClone(input);
    obj.metadata.uid ??= crypto.randomUUID();
    obj.metadata.creationTimestamp ??= iso(new Date());
    let byKey = this.objects.get(obj.kind);
    if (!byKey) {
      byKey = new Map();
      this.objects.set(obj.kind, byKey);
    }
    const k = key(obj);
    if (byKey.has(k)) throw new Error(`${obj.kind} ${k} exists`);
    byKey.set(k, obj);
    this.emit("ADDED", obj);
    return structuredClone(obj);
  }

  object(kind: string, ns: string, name: string): KubeObject | undefined {
    return this.objects.get(kind)?.get(`${ns}/${name}`);
  }

  /** Objects of a kind sorted by namespace then name; `ns` undefined = all namespaces. */
  listObjects(kind: string, ns?: string): KubeObject[] {
    if (kind === "Pod") return this.listPods(ns);
    if (kind === "Namespace") return this.listNamespaces();
    return [...(this.objects.get(kind)?.values() ?? [])]
      .filter((o) => ns === undefined || (o.metadata.namespace ?? "") === ns)
      .sort((a, b) => cmp(key(a), key(b)));
  }

  deleteObject(kind: string, ns: string, name: string): KubeObject | undefined {
    const obj = this.objects.get(kind)?.get(`${ns}/${name}`);
    if (!obj) return undefined;
    this.objects.get(kind)!.delete(`${ns}/${name}`);
    this.emit("DELETED", obj);
    return structuredClone(obj);
  }

  /** Drops the whole event history, so any watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.history = [];
    this.oldestRv = this.rv;
  }

  /** Events after `rv` still in the history; undefined when `rv` is older than the history (410). */
  eventsSince(rv: number): StoreEvent[] | undefined {
    if (rv < this.oldestRv) return undefined;
    return this.history.filter((e) => e.rv > rv);
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(type: WatchEventType, obj: KubeObject): void {
    this.rv += 1;
    if (type !== "DELETED") obj.metadata.resourceVersion = String(this.rv);
    const object = structuredClone(obj);
    object.metadata.resourceVersion = String(this.rv);
    const ev: StoreEvent = { type, rv: this.rv, object };
    this.history.push(ev);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.oldestRv = dropped[dropped.length - 1]?.rv ?? this.oldestRv;
    }
    for (const fn of this.listeners) fn(ev);
  }
}

function podStatus(pod: KubeObject, phase: string, created: Date, restarts: number): Record<string, unknown> {
  const running = phase === "Running";
  // A pod keeps its IP once it has one.
  const ip = running
    ? (pod.status?.podIP ?? `10.0.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`)
    : undefined;
  const containers = (pod.spec.containers as { name: string; image: string }[]) ?? [];
  return {
    phase,
    conditions: [
      { type: "PodScheduled", status: "True", lastTransitionTime: iso(created) },
      { type: "Initialized", status: "True", lastTransitionTime: iso(created) },
      { type: "ContainersReady", status: running ? "True" : "False", lastTransitionTime: iso(created) },
      { type: "Ready", status: running ? "True" : "False", lastTransitionTime: iso(created) },
    ],
    hostIP: "10.0.1.23",
    podIP: ip,
    podIPs: ip ? [{ ip }] : undefined,
    hostIPs: [{ ip: "10.0.1.23" }],
    qosClass: "BestEffort",
    startTime: iso(created),
    containerStatuses: containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: "",
      ready: running,
      started: running,
      restartCount: restarts,
      state: running
        ? { running: { startedAt: iso(created) } }
        : { waiting: { reason: "ContainerCreating" } },
      ...(running ? { containerID: `containerd://${crypto.randomUUID().replaceAll("-", "")}` } : {}),
    })),
  };
}

const iso = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;
const key = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
