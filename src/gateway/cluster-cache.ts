// The served set of clusters (kube_cluster matching kubernetes_service.resources labels), plus
// roles and users for the authorizer, kept current from one registry watch; survives outages.
import { compileSelector, type LabelSelector } from "../lib/labels.ts";
import type { Logger } from "../lib/log.ts";
import type { Backend, KubeCluster, Resource, Role, User, Watcher } from "../registry/index.ts";

export interface ClusterCache {
  /** A served cluster by name. */
  cluster(name: string): KubeCluster | undefined;
  /** Every served cluster, sorted by name. */
  clusters(): KubeCluster[];
  role(name: string): Role | undefined;
  roles(): Role[];
  user(name: string): User | undefined;
  /** True once the first snapshot arrived. */
  initialised(): boolean;
  /** Resolves at the first snapshot, or after `timeoutMs` (the gateway still starts). */
  whenInitialised(timeoutMs?: number): Promise<boolean>;
  /** The last watch error since the last good event, if any. */
  lastError(): unknown;
  close(): void;
}

export interface ClusterCacheOptions {
  backend: Backend;
  /** kubernetes_service.resources[].labels; a cluster is served when any selector matches. */
  selectors: readonly LabelSelector[];
  log: Logger;
  /** Called after every change, for metrics. */
  onChange?: (cache: ClusterCache) => void;
  /** Called when users or signing keys change (or a fresh snapshot arrives): drop auth caches. */
  onIdentityChange?: () => void;
}

/** True when a cluster's labels match any of the service's selectors (none → serve nothing). */
export function makeServedFilter(selectors: readonly LabelSelector[]): (c: KubeCluster) => boolean {
  const compiled = selectors.map((s) => compileSelector(s));
  return (c) => compiled.some((s) => s.matches(c.metadata.labels ?? {}));
}

/** Starts watching at once; the cache answers from memory and never throws on registry trouble. */
export function createClusterCache({
  backend,
  selectors,
  log,
  onChange,
  onIdentityChange,
}: ClusterCacheOptions): ClusterCache {
  const served = makeServedFilter(selectors);
  let clusters = new Map<string, KubeCluster>();
  let roles = new Map<string, Role>();
  let users = new Map<string, User>();
  let ready = false;
  let error: unknown;
  const waiters: (() => void)[] = [];

  const apply = (r: Resource) => {
    if (r.kind === "kube_cluster") {
      const c = r as KubeCluster;
      if (served(c)) clusters.set(c.metadata.name, c);
      else clusters.delete(c.metadata.name);
    } else if (r.kind === "role") roles.set(r.metadata.name, r as Role);
    else if (r.kind === "user") users.set(r.metadata.name, r as User);
  };

  const watcher: Watcher = backend.watch(
    { kinds: ["kube_cluster", "role", "user", "signing_key"] },
    (e) => {
      error = undefined;
      if (e.type === "init") {
        clusters = new Map();
        roles = new Map();
        users = new Map();
        for (const r of e.resources) apply(r);
        if (!ready) {
          ready = true;
          log.info(
            { clusters: clusters.size, roles: roles.size, users: users.size },
            "cluster cache initialised",
          );
          for (const w of waiters.splice(0)) w();
        }
      } else if (e.type === "put") apply(e.resource);
      else if (e.kind === "kube_cluster") clusters.delete(e.name);
      else if (e.kind === "role") roles.delete(e.name);
      else if (e.kind === "user") users.delete(e.name);
      const kind = e.type === "init" ? undefined : e.type === "put" ? e.resource.kind : e.kind;
      if (kind === undefined || kind === "user" || kind === "signing_key") onIdentityChange?.();
      onChange?.(cache);
    },
    (err) => {
      if (!error) log.warn({ err }, "registry watch failing; serving from the last known cache");
      error = err;
    },
  );

  const cache: ClusterCache = {
    cluster: (name) => clusters.get(name),
    clusters: () => [...clusters.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)),
    role: (name) => roles.get(name),
    roles: () => [...roles.values()],
    user: (name) => users.get(name),
    initialised: () => ready,
    whenInitialised(timeoutMs = 5000) {
      if (ready) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        waiters.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    },
    lastError: () => error,
    close: () => watcher.close(),
  };
  return cache;
}
