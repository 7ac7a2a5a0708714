// Data the benches share.

/** 5,000 pods (~1 KB each as kube-apiserver writes them), half named web-*: the filtered-list benches. */
export const BIG_PODS = Array.from({ length: 5000 }, (_, i) => ({
  metadata: {
    name: `${i % 2 ? "db" : "web"}-${i}`,
    namespace: "default",
    uid: crypto.randomUUID(),
    resourceVersion: String(1000 + i),
    creationTimestamp: "2026-01-01T00:00:00Z",
    labels: { app: i % 2 ? "db" : "web", "pod-template-hash": "5d8f7c9b6d" },
  },
  spec: {
    containers: [{ name: "main", image: "nginx:1.27", ports: [{ containerPort: 80, protocol: "TCP" }] }],
    nodeName: "ip-10-0-1-23.ec2.internal",
    restartPolicy: "Always",
    serviceAccountName: "default",
  },
  status: {
    phase: "Running",
    podIP: `10.0.${i >> 8}.${i & 255}`,
    conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" }],
    containerStatuses: [{ name: "main", ready: true, restartCount: 0, image: "nginx:1.27" }],
  },
}));

/** BIG_PODS as the PodList an API server answers (3.3 MB of JSON). */
export const BIG_POD_LIST = JSON.stringify({
  kind: "PodList",
  apiVersion: "v1",
  metadata: { resourceVersion: "9000" },
  items: BIG_PODS,
});
