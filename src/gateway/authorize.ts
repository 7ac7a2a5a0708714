// Role-based access to clusters: which clusters a user sees and whom the gateway impersonates there.
import type { Gauge } from "prom-client";
import type { Logger } from "../lib/log.ts";
import type { Backend, KubeCluster, Role, Watcher } from "../registry/index.ts";
import { type CompiledRole, compileRole } from "./compiled-role.ts";
import type { Authorizer, Grant, Identity, RoleShare } from "./identity.ts";
import { AccessRefused } from "./refusal.ts";
import { type CompiledRule, compileRule, FULL_WILDCARD, resourceAccess } from "./resources/index.ts";

/** Every impersonated identity carries this group, as the API server adds it for real users. */
export const AUTHENTICATED_GROUP = "system:authenticated";

/** The outcome for one (identity, cluster): a grant, or the reason there is none. */
export type Decision =
  | { ok: true; grant: Grant }
  /** `reason`: the message; `code`: its class for audit; `by`: the role that refused. */
  | { ok: false; reason: string; code: string; by?: string };

/**
 * Evaluates roles for one cluster. Semantics (Teleport-like, deny wins):
 * - a role the identity holds that does not exist refuses every cluster (as Teleport refuses a user
 *   whose role is not found): skipping it would drop its deny rules — a typo in groups_to_roles, or
 *   `ctl rm role/no-payments` while people hold it, would let them into what it kept them out of;
 * - a broken role (see CompiledRole.broken) among the identity's roles refuses every cluster;
 * - a role reaches a cluster when its allow `kubernetes_labels` match (no allow labels = no cluster;
 *   `"*": "*"` = every cluster);
 * - any of the identity's roles whose deny labels match refuses the cluster outright;
 * - deny `kubernetes_groups` / `kubernetes_users` are removed from what the allowing roles grant;
 * - users: the sorted union of allowed users (the first is impersonated), else the kubeport user;
 *   groups: the sorted union of allowed groups, the token's own groups (OIDC, with the issuer's
 *   groups_prefix) and `system:authenticated`; deny groups remove token groups too;
 * - no allowed groups and no allowed users → refused (a token's own groups do not count);
 * - kubernetes_resources: allow rules of the roles that reach the cluster (a role without any: every
 *   object), deny rules of the same roles; the per-request check is resources/ (checked first: deny);
 * - a request for objects impersonates only the users and groups of the roles whose
 *   kubernetes_resources allow it (Teleport's getKubeAccessDetails): a narrow role's powerful group
 *   does not ride along on what a broad role allows. The grant carries each role's share
 *   (`narrowing`) when that can make a difference, and the resource stage picks (principalsOf).
 */
function decide(
  roles: ReadonlyMap<string, CompiledRole>,
  identity: Identity,
  cluster: KubeCluster,
): Decision {
  const labels = cluster.metadata.labels ?? {};
  if (identity.roles.length === 0)
    return {
      ok: false,
      code: "no_roles",
      reason: `user ${JSON.stringify(identity.user)} has no known roles`,
    };
  const mine: CompiledRole[] = [];
  for (const name of identity.roles) {
    const r = roles.get(name);
    if (!r)
      return {
        ok: false,
        code: "role_unknown",
        by: `role/${name}`,
        reason: `role ${JSON.stringify(name)} of user ${JSON.stringify(identity.user)} does not exist, so it denies every cluster until it is created or no longer given to them (kubeport ctl users update, or the issuer's groups_to_roles)`,
      };
    mine.push(r);
  }
  const broken = mine.find((r) => r.broken !== undefined);
  if (broken)
    return {
      ok: false,
      code: "role_broken",
      by: `role/${broken.name}`,
      reason: `role ${JSON.stringify(broken.name)} is broken, so it denies every cluster until it is fixed (kubeport ctl create --force -f FIXED.yaml): ${broken.broken}`,
    };
  for (const r of mine) {
    if (r.deny?.matches(labels))
      return {
        ok: false,
        code: "role_denies",
        by: `role/${r.name}`,
        reason: `role ${JSON.stringify(r.name)} denies cluster ${JSON.stringify(cluster.metadata.name)}`,
      };
  }
  const allowing = mine.filter((r) => r.allow?.matches(labels));
  if (allowing.length === 0) {
    return {
      ok: false,
      code: "no_role_allows",
      reason: `no role of user ${JSON.stringify(identity.user)} allows cluster ${JSON.stringify(cluster.metadata.name)}`,
    };
  }
  const deniedGroups = new Set(mine.flatMap((r) => r.denyGroups));
  const deniedUsers = new Set(mine.flatMap((r) => r.denyUsers));
  const shares: RoleShare[] = allowing.map((r) => ({
    role: r.name,
    users: r.allowUsers.filter((u) => !deniedUsers.has(u)),
    groups: r.allowGroups.filter((g) => !deniedGroups.has(g)),
  }));
  const tokenGroups = (identity.kubernetesGroups ?? []).filter((g) => !deniedGroups.has(g));
  const all = principalsOf(shares, tokenGroups, identity.user);
  if (!all) {
    return {
      ok: false,
      code: "no_grant",
      reason: `roles of user ${JSON.stringify(identity.user)} grant no kubernetes groups or users on cluster ${JSON.stringify(cluster.metadata.name)}`,
    };
  }
  const grant: Grant = {
    kubernetesUsers: all.users,
    kubernetesGroups: all.groups,
    roles: allowing.map((r) => r.name),
    ...(allowing.some((r) => r.recordSession) ? { recordSession: allowing.map((r) => r.recordSession) } : {}),
    resources: resourceAccess(
      allowing.flatMap((r) => r.allowResources ?? defaultRules(r.name)),
      allowing.flatMap((r) => r.denyResources),
    ),
  };
  // Narrowing can change what is impersonated only when some role reaches only some objects and
  // the roles do not all grant the same users and groups.
  const someNarrow = allowing.some((r) => r.allowResources && !r.allowResources.some((x) => x.fullWildcard));
  const key = (s: RoleShare) => JSON.stringify([[...s.users].sort(), [...s.groups].sort()]);
  if (someNarrow && new Set(shares.map(key)).size > 1) grant.narrowing = { shares, tokenGroups };
  return { ok: true, grant };
}

/** What is impersonated. `users`: the first is the one impersonated. */
export interface Principals {
  users: string[];
  groups: string[];
}

/**
 * The users and groups the given roles' shares grant: users sorted (else the kubeport user), groups
 * sorted with the token's own groups, `system:authenticated` last. Undefined when the shares grant
 * neither groups nor users (a token's own groups do not count): nothing may be impersonated.
 */
export function principalsOf(
  shares: readonly RoleShare[],
  tokenGroups: readonly string[],
  user: string,
): Principals | undefined {
  const groups = new Set(shares.flatMap((s) => s.groups));
  const users = [...new Set(shares.flatMap((s) => s.users))].sort();
  if (groups.size === 0 && users.length === 0) return undefined;
  for (const g of tokenGroups) groups.add(g);
  groups.delete(AUTHENTICATED_GROUP);
  return { users: users.length > 0 ? users : [user], groups: [...[...groups].sort(), AUTHENTICATED_GROUP] };
}

// Teleport v8's default for a role that lists no kubernetes_resources: everything. Compiled once per role name.
const defaults = new Map<string, CompiledRule[]>();
function defaultRules(role: string): CompiledRule[] {
  let d = defaults.get(role);
  if (!d) {
    if (defaults.size > 10_000) defaults.clear();
    d = [compileRule(FULL_WILDCARD, { role, side: "allow", index: -1 })];
    defaults.set(role, d);
  }
  return d;
}

/** Compiles every role, reusing what was compiled for the same role object (the feed replaces a changed one). */
function compileAll(
  roles: Iterable<Role>,
  previous?: WeakMap<Role, CompiledRole>,
): Map<string, CompiledRole> {
  const out = new Map<string, CompiledRole>();
  for (const r of roles) {
    let c = previous?.get(r);
    if (!c) {
      c = compileRole(r);
      previous?.set(r, c);
    }
    out.set(r.metadata.name, c);
  }
  return out;
}

/** An authorizer over a fixed set of roles (the CLI, tests). A broken role denies its holders everything. */
export function createStaticAuthorizer(roles: readonly Role[]): Authorizer {
  const compiled = compileAll(roles);
  return authorizerOver(() => compiled);
}

/**
 * Decisions are remembered per (identity object, cluster object) while the compiled roles stay the
 * same: the token cache hands out one Identity per token and the cluster cache one object per
 * cluster version, so a changed role, cluster or user misses at once. Saves the label matching and
 * set building on every request (and gives the same Grant object, whose headers are planned once).
 */
function authorizerOver(current: () => ReadonlyMap<string, CompiledRole>): Authorizer {
  let decidedFor: ReadonlyMap<string, CompiledRole> | undefined;
  let decisions = new WeakMap<Identity, WeakMap<KubeCluster, Decision>>();
  const decideCached = (identity: Identity, cluster: KubeCluster): Decision => {
    const roles = current();
    if (roles !== decidedFor) {
      decidedFor = roles;
      decisions = new WeakMap();
    }
    let byCluster = decisions.get(identity);
    if (!byCluster) {
      byCluster = new WeakMap();
      decisions.set(identity, byCluster);
    }
    let d = byCluster.get(cluster);
    if (!d) {
      d = decide(roles, identity, cluster);
      byCluster.set(cluster, d);
    }
    return d;
  };
  return {
    authorize(identity, cluster) {
      const d = decideCached(identity, cluster);
      if (!d.ok) throw new AccessRefused(d.reason, d.code, d.by);
      return d.grant;
    },
    mayReviewRecordings(identity) {
      const roles = current();
      const mine = identity.roles.map((r) => roles.get(r)).filter((r) => r !== undefined);
      // Deny wins, and a broken role fails closed here too.
      if (mine.some((r) => r.broken !== undefined || r.reviewRecordings === "deny")) return false;
      return mine.some((r) => r.reviewRecordings === "allow");
    },
    visibleClusters(identity, clusters) {
      const roles = current();
      return clusters.filter((c) => decide(roles, identity, c).ok);
    },
  };
}

export interface RoleAuthorizer extends Authorizer {
  /** True when the registry has a role of this name (as last followed). */
  has(role: string): boolean;
  close(): void;
}

export interface RoleAuthorizerOptions {
  backend: Backend;
  log: Logger;
  /** Set to the number of broken roles (kubeport_roles_broken). */
  brokenGauge?: Gauge;
  /** Called after roles changed and were recompiled (open streams are re-checked against them). */
  onChange?: () => void;
}

/**
 * An authorizer over the registry's roles: lists them once (so it is ready when this resolves),
 * then follows the change feed. A broken role is logged at ERROR once per revision (not per
 * request), counted in `brokenGauge`, and denies its holders every cluster.
 */
export async function createRoleAuthorizer({
  backend,
  log,
  brokenGauge,
  onChange,
}: RoleAuthorizerOptions): Promise<RoleAuthorizer> {
  const roles = new Map<string, Role>();
  const byObject = new WeakMap<Role, CompiledRole>();
  /** role name → the revision whose breakage was logged. */
  const reported = new Map<string, string | undefined>();
  let compiled: ReadonlyMap<string, CompiledRole> = new Map();
  const rebuild = () => {
    compiled = compileAll(roles.values(), byObject);
    let broken = 0;
    for (const [name, c] of compiled) {
      const revision = roles.get(name)?.metadata.revision;
      if (c.broken === undefined) {
        if (reported.delete(name)) log.info({ role: name, revision }, "role fixed");
        continue;
      }
      broken++;
      if (reported.has(name) && reported.get(name) === revision) continue;
      reported.set(name, revision);
      log.error(
        { role: name, revision, problem: c.broken },
        "role is broken: its holders are denied every cluster until it is fixed",
      );
    }
    for (const name of reported.keys()) if (!compiled.has(name)) reported.delete(name);
    brokenGauge?.set(broken);
  };
  for (const r of await backend.list("role")) roles.set(r.metadata.name, r as Role);
  rebuild();
  const watcher: Watcher = backend.watch(
    { kinds: ["role"] },
    (e) => {
      if (e.type === "init") {
        roles.clear();
        for (const r of e.resources) if (r.kind === "role") roles.set(r.metadata.name, r as Role);
      } else if (e.type === "put") roles.set(e.resource.metadata.name, e.resource as Role);
      else roles.delete(e.name);
      rebuild();
      onChange?.();
    },
    (err) => log.warn({ err: (err as Error)?.message }, "role feed interrupted"),
  );
  return {
    ...authorizerOver(() => compiled),
    has: (role) => compiled.has(role),
    close: () => watcher.close(),
  };
}
