// The impersonation-only ClusterRole and ClusterRoleBinding kubeport's least_privilege access puts
// in a cluster, applied over the Kubernetes API (create, or replace when it differs).
import { egressFetch } from "../lib/egress/index.ts";
import { describeError, unavailable } from "../lib/errors.ts";

/** Name of both objects. */
export const IMPERSONATOR = "kubeport-impersonator";
const API = "/apis/rbac.authorization.k8s.io/v1";
const RBAC_GROUP = "rbac.authorization.k8s.io";

/** May impersonate users, groups and service accounts — and nothing else (as Teleport's role, minus pods). */
export const impersonatorRole = () => ({
  apiVersion: `${RBAC_GROUP}/v1`,
  kind: "ClusterRole",
  metadata: { name: IMPERSONATOR, labels: { "app.kubernetes.io/managed-by": "kubeport" } },
  rules: [{ apiGroups: [""], resources: ["users", "groups", "serviceaccounts"], verbs: ["impersonate"] }],
});

export const impersonatorBinding = (groups: readonly string[]) => ({
  apiVersion: `${RBAC_GROUP}/v1`,
  kind: "ClusterRoleBinding",
  metadata: { name: IMPERSONATOR, labels: { "app.kubernetes.io/managed-by": "kubeport" } },
  roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: IMPERSONATOR },
  subjects: groups.map((name) => ({ kind: "Group", apiGroup: RBAC_GROUP, name })),
});

export interface ApplyRbacOptions {
  /** https URL of the API server. */
  endpoint: string;
  /** The cluster CA as EKS reports it (base64 of PEM). */
  caData?: string;
  /** A fresh bearer token (an EKS token of the credentials granted admin access). */
  token: () => Promise<string>;
  groups: readonly string[];
  /** 401/403 are retried this long: a new access entry takes a moment to apply (Teleport: 60 s). */
  retryMs?: number;
  signal?: AbortSignal;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Creates or replaces the impersonator ClusterRole and its binding to `groups`. Throws a typed
 * error naming the step when the API server keeps refusing (or cannot be reached).
 */
export async function applyImpersonatorRbac({
  endpoint,
  caData,
  token,
  groups,
  retryMs = 60_000,
  signal,
}: ApplyRbacOptions): Promise<void> {
  const ca = caData ? Buffer.from(caData, "base64").toString("utf8") : undefined;
  const until = Date.now() + retryMs;
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      const res = await egressFetch(`${endpoint}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${await token()}`,
          accept: "application/json",
          ...(body ? { "content-type": "application/json" } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
        ...(ca ? { tls: { ca } } : {}),
        signal: signal ?? null,
      } as RequestInit);
      if ((res.status === 401 || res.status === 403) && Date.now() < until) {
        await res.body?.cancel();
        await Bun.sleep(Math.min(2000, 100 * 2 ** attempt));
        continue;
      }
      return res;
    }
  };
  const apply = async (plural: string, want: { metadata: { name: string } } & Record<string, unknown>) => {
    const path = `${API}/${plural}/${want.metadata.name}`;
    let res: Response;
    try {
      res = await call("GET", path);
      if (res.status === 404) {
        await res.body?.cancel();
        res = await call("POST", `${API}/${plural}`, want);
      } else if (res.ok) {
        const have = (await res.json()) as Record<string, unknown> & {
          metadata: { resourceVersion?: string };
        };
        const keys = plural === "clusterroles" ? ["rules"] : ["roleRef", "subjects"];
        if (keys.every((k) => same(have[k], want[k]))) return;
        res = await call("PUT", path, {
          ...want,
          metadata: { ...want.metadata, resourceVersion: have.metadata.resourceVersion },
        });
      }
    } catch (err) {
      throw unavailable(`Kubernetes API ${endpoint}: ${describeError(err)}`, err);
    }
    if (!res.ok) {
      const text = (await res.text()).slice(0, 300);
      throw unavailable(`Kubernetes API answered ${res.status} to ${plural}/${want.metadata.name}: ${text}`);
    }
    await res.body?.cancel();
  };
  await apply("clusterroles", impersonatorRole());
  await apply("clusterrolebindings", impersonatorBinding(groups));
}
