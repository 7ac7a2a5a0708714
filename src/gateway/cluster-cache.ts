// The served set of clusters (kube_cluster matching kubernetes_service.resources labels), plus
// roles, users, locks, signing keys and which login sessions ended, kept current from one registry
// watch; survives outages.
import { compileSelector, type LabelSelector } from "../lib/labels.ts";
import type { Logger } from "../lib/log.ts";
import type {
  Backend,
  Kind,
  KubeCluster,
  Lock,
  Resource,
  Role,
  SigningKey,
  User,
  Watcher,
} from "../registry/index.ts";

export interface ClusterCache {
  /** A served cluster by name. */
  cluster(name: string): KubeCluster | undefined;
  /** Every served cluster, sorted by name. */
  clusters(): KubeCluster[];
  role(name: string): Role | undefined;
  roles(): Role[];
  user(name: string): User | undefined;
  /**
   * `spec.created` of the last record of this user that this cache saw removed (deleted, or gone
   * from a fresh snapshot; "" when it never saw the record itself), while no newer one is here. Tells a removed user from one created so
   * recently that this watch has not brought it yet (the authenticator follows its own).
   */
  removedUser(name: string): string | undefined;
  /**
   * True when this cache saw login session `name` deleted (`kubeport logout`, `ctl users reset`):
   * streams opened with its cluster tokens end. A session it has not seen yet is not "ended".
   */
  endedSession(name: string): boolean;
  /** Every lock the registry holds (expired ones too, until the registry sweeps them); do not mutate. */
  locks(): Lock[];
  /** A signing key by its `kid` (retired ones too, until the registry sweeps them). */
  signingKey(kid: string): SigningKey | undefined;
  /** True when this cache saw the key of this `kid` deleted (or gone from a fresh snapshot). */
  removedKey(kid: string): boolean;
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
  /** Called after every change (metrics; open streams re-checked against it). */
  onChange?: (cache: ClusterCache, change: CacheChange) => void;
  /** Called when users or signing keys change (or a fresh snapshot arrives): drop auth caches. */
  onIdentityChange?: () => void;
}

const unknownUser = (name: string): User => ({
  kind: "user",
  version: "v1",
  metadata: { name },
  spec: { roles: [], created: "" },
});

/** Removed users remembered (see ClusterCache.removedUser). */
const MAX_TOMBSTONES = 10_000;

/** What one watch event changed: a kind and name, or everything (a fresh snapshot). */
export type CacheChange = { kind: Kind; name: string } | { kind: "*" };

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
  let locks = new Map<string, Lock>();
  /** Live login sessions (names only: what matters is noticing one go). */
  let sessions = new Set<string>();
  /** Ended sessions, oldest first, bounded like user tombstones (their streams end at once). */
  const ended = new Set<string>();
  const endSession = (name: string) => {
    ended.delete(name);
    if (ended.size >= MAX_TOMBSTONES) ended.delete(ended.values().next().value!);
    ended.add(name);
  };
  /** Signing keys by registry name, and the kids of keys seen removed (bounded like tombstones). */
  let keys = new Map<string, SigningKey>();
  const removedKids = new Set<string>();
  const kidOf = (k: SigningKey) => String(k.spec.public_jwk.kid ?? "");
  const keyGone = (k: SigningKey | undefined) => {
    if (!k) return;
    if (removedKids.size >= MAX_TOMBSTONES) removedKids.delete(removedKids.values().next().value!);
    removedKids.add(kidOf(k));
  };
  const removed = new Map<string, string>();
  const tombstone = (u: User | undefined) => {
    if (!u) return;
    removed.delete(u.metadata.name);
    // Bounded: the oldest go first (a stream of a user removed that long ago is long over).
    if (removed.size >= MAX_TOMBSTONES) removed.delete(removed.keys().next().value!);
    removed.set(u.metadata.name, u.spec.created);
  };
  // Read on every request (the lock check): rebuilt only when a lock changes.
  let lockList: Lock[] = [];
  let ready = false;
  let error: unknown;
  const waiters: (() => void)[] = [];

  const apply = (r: Resource) => {
    if (r.kind === "kube_cluster") {
      const c = r as KubeCluster;
      if (served(c)) clusters.set(c.metadata.name, c);
      else clusters.delete(c.metadata.name);
    } else if (r.kind === "role") roles.set(r.metadata.name, r as Role);
    else if (r.kind === "user") {
      users.set(r.metadata.name, r as User);
      removed.delete(r.metadata.name);
    } else if (r.kind === "lock") locks.set(r.metadata.name, r as Lock);
    else if (r.kind === "login_session") {
      sessions.add(r.metadata.name);
      ended.delete(r.metadata.name);
    } else if (r.kind === "signing_key") {
      keys.set(r.metadata.name, r as SigningKey);
      removedKids.delete(kidOf(r as SigningKey));
    }
  };

  const watcher: Watcher = backend.watch(
    { kinds: ["kube_cluster", "role", "user", "signing_key", "lock", "login_session"] },
    (e) => {
      error = undefined;
      if (e.type === "init") {
        const before = users;
        const sessionsBefore = sessions;
        const keysBefore = keys;
        clusters = new Map();
        roles = new Map();
        users = new Map();
        locks = new Map();
        sessions = new Set();
        keys = new Map();
        for (const r of e.resources) apply(r);
        // Deleted while the watch was away.
        for (const [name, u] of before) if (!users.has(name)) tombstone(u);
        for (const name of sessionsBefore) if (!sessions.has(name)) endSession(name);
        for (const [name, k] of keysBefore) if (!keys.has(name)) keyGone(k);
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
      else if (e.kind === "user") {
        // A record this watch never saw ("" = created when, unknown) is gone all the same.
        tombstone(users.get(e.name) ?? unknownUser(e.name));
        users.delete(e.name);
      } else if (e.kind === "lock") locks.delete(e.name);
      else if (e.kind === "login_session") {
        sessions.delete(e.name);
        endSession(e.name);
      } else if (e.kind === "signing_key") {
        keyGone(keys.get(e.name));
        keys.delete(e.name);
      }
      const change: CacheChange =
        e.type === "init"
          ? { kind: "*" }
          : e.type === "put"
            ? { kind: e.resource.kind, name: e.resource.metadata.name }
            : { kind: e.kind, name: e.name };
      // A signed-out session's cluster tokens must not be reused from the verified-token cache either.
      if (
        change.kind === "*" ||
        change.kind === "user" ||
        change.kind === "signing_key" ||
        (change.kind === "login_session" && e.type === "delete")
      )
        onIdentityChange?.();
      if (change.kind === "*" || change.kind === "lock") lockList = [...locks.values()];
      onChange?.(cache, change);
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
    removedUser: (name) => removed.get(name),
    endedSession: (name) => ended.has(name),
    locks: () => lockList,
    signingKey: (kid) => {
      for (const k of keys.values()) if (kidOf(k) === kid) return k;
      return undefined;
    },
    removedKey: (kid) => removedKids.has(kid),
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
