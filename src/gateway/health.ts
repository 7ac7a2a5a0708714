// Per-cluster health, kept in memory: GET /version and a SelfSubjectAccessReview asking whether the
// gateway may impersonate users, every ~30 s for each served cluster, as `kubeport-health/<version>`.
import { jitter } from "../lib/backoff.ts";
import { egressFetch } from "../lib/egress/index.ts";
import { describeError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { packageVersion } from "../lib/package-version.ts" with { type: "macro" };
import { mapLimit } from "../lib/pool.ts";
import type { KubeCluster } from "../registry/index.ts";
import type { UpstreamCredentials } from "./upstream/credentials.ts";
import { upstreamTls } from "./upstream/tls.ts";

/**
 * The User-Agent of every health check: the checks go upstream as the gateway itself (no
 * impersonation), so the API server's audit log (its `userAgent` field) tells them apart from the
 * requests kubeport proxies, which keep their client's User-Agent.
 */
export const HEALTH_CHECK_USER_AGENT = `kubeport-health/${packageVersion()}`;

export interface ClusterHealth {
  name: string;
  /** ok: reachable and may impersonate; degraded: reachable, impersonation refused/unknown; error: unreachable. */
  status: "ok" | "degraded" | "error" | "unknown";
  version?: string;
  canImpersonate?: boolean;
  error?: string;
  /** RFC 3339. */
  lastCheck?: string;
  latencyMs?: number;
}

export interface HealthChecker {
  start(): void;
  stop(): void;
  /** The latest result for each served cluster (unknown until its first check). */
  status(): ClusterHealth[];
  /** Checks every served cluster now. */
  checkAll(): Promise<ClusterHealth[]>;
}

export interface HealthCheckerOptions {
  clusters: () => KubeCluster[];
  credentials: UpstreamCredentials;
  log: Logger;
  intervalMs?: number;
  timeoutMs?: number;
}

/** Checks one cluster: version, then whether impersonating users is allowed. */
export async function checkCluster(
  cluster: KubeCluster,
  credentials: UpstreamCredentials,
  timeoutMs = 5000,
): Promise<ClusterHealth> {
  const base = cluster.spec.endpoint.replace(/\/+$/, "");
  const started = performance.now();
  const out: ClusterHealth = {
    name: cluster.metadata.name,
    status: "error",
    lastCheck: new Date().toISOString(),
  };
  try {
    const headers = new Headers({ accept: "application/json", "user-agent": HEALTH_CHECK_USER_AGENT });
    const auth = await credentials.authorization(cluster);
    if (auth) headers.set("authorization", auth);
    const tls = upstreamTls(cluster);
    const v = await egressFetch(`${base}/version`, { headers, tls, signal: AbortSignal.timeout(timeoutMs) });
    if (!v.ok) throw new Error(`GET /version: HTTP ${v.status}`);
    out.version = ((await v.json()) as { gitVersion?: string }).gitVersion;
    headers.set("content-type", "application/json");
    const review = await egressFetch(`${base}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, {
      method: "POST",
      headers,
      tls,
      signal: AbortSignal.timeout(timeoutMs),
      body: JSON.stringify({
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: { verb: "impersonate", resource: "users" } },
      }),
    });
    if (review.ok)
      out.canImpersonate =
        ((await review.json()) as { status?: { allowed?: boolean } }).status?.allowed === true;
    else await review.body?.cancel();
    out.status = out.canImpersonate ? "ok" : "degraded";
    if (out.canImpersonate === false) out.error = "the gateway's AWS principal may not impersonate users";
    else if (out.canImpersonate === undefined) out.error = `SelfSubjectAccessReview: HTTP ${review.status}`;
  } catch (err) {
    out.error = describeError(err);
  }
  out.latencyMs = Math.round(performance.now() - started);
  return out;
}

/** Runs checkCluster over the served set on a jittered interval; results live in memory only. */
export function createHealthChecker({
  clusters,
  credentials,
  log,
  intervalMs = 30_000,
  timeoutMs = 5000,
}: HealthCheckerOptions): HealthChecker {
  const results = new Map<string, ClusterHealth>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = true;

  const checkAll = async () => {
    const served = clusters();
    const rows = await mapLimit(served, 8, (c) => checkCluster(c, credentials, timeoutMs));
    const names = new Set(served.map((c) => c.metadata.name));
    for (const name of results.keys()) if (!names.has(name)) results.delete(name);
    for (const r of rows) {
      const prev = results.get(r.name);
      if (prev?.status !== r.status)
        log.info({ cluster: r.name, status: r.status, error: r.error }, "cluster health changed");
      results.set(r.name, r);
    }
    return rows;
  };
  const loop = () => {
    if (stopped) return;
    checkAll()
      .catch((err) => log.warn({ err: describeError(err) }, "cluster health check failed"))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, jitter(intervalMs));
      });
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      timer = setTimeout(loop, 1000);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    status: () =>
      clusters().map((c) => results.get(c.metadata.name) ?? { name: c.metadata.name, status: "unknown" }),
    checkAll,
  };
}
