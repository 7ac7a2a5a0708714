// Locks (kind `lock`): which one, if any, is in force for a user, the roles they hold and a cluster.
import { formatProblem } from "../../lib/problems.ts";
import { expiresAt, type Lock, resourceProblems } from "../../registry/index.ts";

/** Who is asking: the identity's user and roles, and the cluster the request or stream is on. */
export interface LockSubject {
  user: string;
  /** An OIDC person's username claim before username_prefix (Identity.claimedUser). */
  claimedUser?: string | undefined;
  roles: readonly string[];
  cluster: string;
}

/**
 * True when every field the lock's target names matches (Teleport's semantics: `{user: alice,
 * cluster: prod}` locks alice on prod only). A target naming nothing cannot be stored (resources.ts).
 * A target user matches the name the cluster sees (a kubeport user, or an OIDC person's prefixed
 * name) and also an OIDC person's username claim as the issuer sent it: a lock errs on the side of
 * locking, so `--user alice@example.com` locks that address from every issuer, as well as a kubeport
 * user of that name.
 */
export function lockMatches(lock: Lock, s: LockSubject): boolean {
  // A stored lock that fails validation (written past it, or by another version) is handed on by
  // the registry rather than skipped; whom it meant cannot be known, so it locks everyone.
  if (unreadable(lock) !== undefined) return true;
  const t = lock.spec.target;
  if (t.user === undefined && t.role === undefined && t.cluster === undefined) return false;
  if (t.user !== undefined && t.user !== s.user && t.user !== s.claimedUser) return false;
  if (t.role !== undefined && !s.roles.includes(t.role)) return false;
  if (t.cluster !== undefined && t.cluster !== s.cluster) return false;
  return true;
}

const problemsOf = new WeakMap<Lock, string | null>();

/** The first validation problem of a stored lock, or undefined when it is valid (cached per object). */
export function unreadable(lock: Lock): string | undefined {
  let p = problemsOf.get(lock);
  if (p === undefined) {
    const first = resourceProblems(lock)[0];
    p = first ? formatProblem(first) : null;
    problemsOf.set(lock, p);
  }
  return p ?? undefined;
}

/** The first unexpired lock that matches, if any. */
export function lockInForce(locks: readonly Lock[], s: LockSubject, now: number): Lock | undefined {
  for (const lock of locks) {
    const until = expiresAt(lock);
    if (until !== undefined && until <= now) continue;
    if (lockMatches(lock, s)) return lock;
  }
  return undefined;
}

/**
 * The clusters among `clusters` that no lock in force closes to this person (a lock on the user or
 * one of their roles closes all of them): what they may be shown as reachable.
 */
export function unlockedClusters<C extends { metadata: { name: string } }>(
  locks: readonly Lock[],
  who: Omit<LockSubject, "cluster">,
  clusters: readonly C[],
  now: number,
): C[] {
  if (locks.length === 0) return [...clusters];
  return clusters.filter((c) => lockInForce(locks, { ...who, cluster: c.metadata.name }, now) === undefined);
}

/** `user "alice", cluster "prod"`: the target as people read it. */
export function describeLockTarget(lock: Lock): string {
  const t = lock.spec.target;
  return [
    ...(t.user !== undefined ? [`user ${JSON.stringify(t.user)}`] : []),
    ...(t.role !== undefined ? [`role ${JSON.stringify(t.role)}`] : []),
    ...(t.cluster !== undefined ? [`cluster ${JSON.stringify(t.cluster)}`] : []),
  ].join(", ");
}

/** Teleport's wording: `lock targeting user "alice" is in force: <message>`. */
export function lockMessage(lock: Lock): string {
  const problem = unreadable(lock);
  if (problem !== undefined)
    return `lock ${JSON.stringify(lock.metadata.name)} cannot be read (${problem}), so it locks everyone until it is fixed or removed (kubeport ctl rm lock/${lock.metadata.name})`;
  const why = lock.spec.message?.trim();
  return `lock targeting ${describeLockTarget(lock)} is in force${why ? `: ${why}` : ""}`;
}
