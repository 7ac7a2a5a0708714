// Per-resource decisions over the kubernetes_resources rules of the roles that reach one cluster:
// deny first (any role), then one allow must match. One object is allowed or not; a collection is
// refused up front when nothing in it could be allowed, else each item is checked as it passes.
import { knownKind } from "../../lib/kube-kinds.ts";
import { prefixVerdict } from "../../lib/pattern-prefix.ts";
import {
  type CompiledRule,
  grantsNamespaceVisibility,
  namespaceMatches,
  type ResourceAttrs,
  ruleCovers,
  ruleMatches,
} from "./rules.ts";

/** The rules in force for one (identity, cluster); built once per grant. */
export interface ResourceAccess {
  /** A full wildcard allow and no deny rule: nothing to check or filter (the fast path). */
  unrestricted: boolean;
  allow: readonly CompiledRule[];
  deny: readonly CompiledRule[];
}

export function resourceAccess(
  allow: readonly CompiledRule[],
  deny: readonly CompiledRule[],
): ResourceAccess {
  return { unrestricted: deny.length === 0 && allow.some((r) => r.fullWildcard), allow, deny };
}

/** `roles`: the roles with an allow rule that matches (only when asked for). */
export type ObjectDecision = { ok: true; roles?: Set<string> } | { ok: false; deniedBy?: CompiledRule };

/**
 * One object: refused by the first deny rule that matches, else allowed by the first allow rule that
 * does — or, with `wantRoles`, by every allow rule that does, whose roles are returned.
 */
export function checkObject(access: ResourceAccess, a: ResourceAttrs, wantRoles = false): ObjectDecision {
  for (const r of access.deny) if (ruleMatches(r, a)) return { ok: false, deniedBy: r };
  let roles: Set<string> | undefined;
  for (const r of access.allow)
    if (ruleMatches(r, a) || grantsNamespaceVisibility(r, a)) {
      if (!wantRoles) return { ok: true };
      if (!roles) roles = new Set();
      roles.add(r.role);
    }
  return roles ? { ok: true, roles } : { ok: false };
}

/**
 * A create with `metadata.generateName` and no name: the API server names the object `prefix` + 5
 * random characters, so every such name is checked. Refused when a deny rule may match any of them,
 * allowed only when one allow rule matches all of them (a rule on the namespace object reaches
 * whatever is created inside it, whatever its name).
 */
export function checkGeneratedName(access: ResourceAccess, a: ResourceAttrs, prefix: string): ObjectDecision {
  const reaches = (r: CompiledRule, names: "some" | "all") =>
    (r.anyVerb || r.verbs.has(a.verb)) &&
    (((r.kind === "*" || r.kind === a.kind) &&
      r.group.test(a.apiGroup) &&
      namespaceMatches(r, a.namespace) &&
      prefixVerdict(r.source.name, prefix)[names]) ||
      (r.kind === "namespaces" && a.namespace !== "" && r.name.test(a.namespace)));
  for (const r of access.deny) if (reaches(r, "some")) return { ok: false, deniedBy: r };
  const roles = new Set(access.allow.filter((r) => reaches(r, "all")).map((r) => r.role));
  return roles.size > 0 ? { ok: true, roles } : { ok: false };
}

/** What a list, watch or deletecollection request may see. */
export type CollectionDecision =
  | { refuse: true; deniedBy?: CompiledRule }
  /**
   * `allows(namespace, name)` for each item; `all` when every item in scope is allowed; `roles`: the
   * roles with an allow rule that could match something in scope.
   */
  | {
      refuse: false;
      all: boolean;
      allows: (namespace: string, name: string) => boolean;
      roles: Set<string>;
      /** The rules `allows` reads (deny, then allow): what an open watch's view depends on. */
      rules: readonly CompiledRule[];
    };

/**
 * A collection of `kind` (in `namespace`, or "" for all namespaces / a cluster-scoped kind): refused
 * when no allow rule could match anything in it, or a deny rule covers all of it; otherwise the
 * per-item check, with only the rules that can matter for this verb, kind and group.
 */
export function checkCollection(
  access: ResourceAccess,
  q: { verb: string; kind: string; apiGroup: string; namespace: string },
): CollectionDecision {
  const relevant = (r: CompiledRule) =>
    ruleCovers(r, q.verb, q.kind, q.apiGroup) ||
    (r.kind === "namespaces" && (r.anyVerb || r.verbs.has(q.verb)));
  const deny = access.deny.filter(relevant);
  const readNamespaces =
    q.kind === "namespaces" && q.apiGroup === "" && ["get", "list", "watch"].includes(q.verb);
  const allow = access.allow.filter((r) => relevant(r) || (readNamespaces && r.namespaceText !== ""));
  const scope = { ...q, name: "" };
  const clusterScoped =
    q.namespace === "" &&
    knownKind(q.kind)?.namespaced === false &&
    q.apiGroup === (knownKind(q.kind)?.group ?? "");
  for (const r of deny) {
    const everyName = r.source.name === "*";
    const coversScope =
      ruleCovers(r, q.verb, q.kind, q.apiGroup) &&
      everyName &&
      (r.namespaceText === "*" ||
        (q.namespace !== "" && namespaceMatches(r, q.namespace)) ||
        (clusterScoped && r.namespaceText === ""));
    const coversNamespace = q.namespace !== "" && r.kind === "namespaces" && r.name.test(q.namespace);
    if (coversScope || coversNamespace) return { refuse: true, deniedBy: r };
  }
  const couldMatch = (r: CompiledRule) => {
    if (readNamespaces && r.namespaceText !== "") return true;
    if (q.namespace === "") return true;
    if (ruleCovers(r, q.verb, q.kind, q.apiGroup) && namespaceMatches(r, q.namespace)) return true;
    return r.kind === "namespaces" && r.name.test(q.namespace);
  };
  const roles = new Set(allow.filter(couldMatch).map((r) => r.role));
  if (roles.size === 0) return { refuse: true };
  const all =
    deny.length === 0 &&
    allow.some(
      (r) =>
        ruleCovers(r, q.verb, q.kind, q.apiGroup) &&
        r.source.name === "*" &&
        (r.namespaceText === "*" || (q.namespace !== "" && namespaceMatches(r, q.namespace))),
    );
  const item: ResourceAttrs = { ...scope };
  const allows = (namespace: string, name: string) => {
    item.namespace = namespace;
    item.name = name;
    for (const r of deny) if (ruleMatches(r, item)) return false;
    for (const r of allow) if (ruleMatches(r, item) || grantsNamespaceVisibility(r, item)) return true;
    return false;
  };
  return { refuse: false, all, allows, roles, rules: [...deny, ...allow] };
}

/** A question's dimension that asks about everything (a `*` in a SelfSubjectAccessReview). */
export const EVERY = Symbol("every");
type Every = typeof EVERY;

/**
 * A question that may ask about everything in some dimension: `kubectl auth can-i '*' pods`,
 * `can-i get '*'`. The API server's RBAC reads a `*` in a review as "all of them" (only a rule with
 * `*` there answers yes), so kubeport reads it so too.
 */
export interface WideQuestion {
  /** The kubernetes_resources verbs asked about (several when a subresource `*` may be exec too). */
  verbs: readonly string[] | Every;
  kind: string | Every;
  apiGroup: string | Every;
  /** "" = cluster-scoped only (a kind known to be cluster-scoped); EVERY = any namespace or none. */
  namespace: string | Every;
  /** "" (no name: every object in scope) is EVERY too. */
  name: string | Every;
}

/**
 * Refused when any deny rule could match any of what is asked; allowed only when one allow rule
 * covers all of it (a wildcard there, or the literal asked about) — the roles of every such rule.
 * Stricter than `checkCollection` on purpose: the cluster answers the question as a whole, with no
 * per-item filter behind it.
 */
export function checkWideQuestion(access: ResourceAccess, q: WideQuestion): ObjectDecision {
  const name = q.name === "" ? EVERY : q.name;
  const meets = (r: CompiledRule) => {
    if (!(q.verbs === EVERY || r.anyVerb || q.verbs.some((v) => r.verbs.has(v)))) return false;
    const object =
      (q.kind === EVERY || r.kind === "*" || r.kind === q.kind) &&
      (q.apiGroup === EVERY || r.group.test(q.apiGroup)) &&
      (q.namespace === EVERY || namespaceMatches(r, q.namespace)) &&
      (name === EVERY || r.name.test(name));
    // A rule on the namespace object X reaches every object inside X.
    const inside =
      r.kind === "namespaces" && (q.namespace === EVERY || (q.namespace !== "" && r.name.test(q.namespace)));
    return object || inside;
  };
  const covers = (r: CompiledRule) => {
    const verbs = q.verbs;
    if (!(r.anyVerb || (verbs !== EVERY && verbs.every((v) => r.verbs.has(v))))) return false;
    const object =
      (r.kind === "*" || (q.kind !== EVERY && r.kind === q.kind)) &&
      (r.source.api_group === "*" || (q.apiGroup !== EVERY && r.group.test(q.apiGroup))) &&
      (r.namespaceText === "*" || (q.namespace !== EVERY && namespaceMatches(r, q.namespace))) &&
      (r.source.name === "*" || (name !== EVERY && r.name.test(name)));
    const inside =
      r.kind === "namespaces" && q.namespace !== EVERY && q.namespace !== "" && r.name.test(q.namespace);
    return object || inside;
  };
  for (const r of access.deny) if (meets(r)) return { ok: false, deniedBy: r };
  const roles = new Set(access.allow.filter(covers).map((r) => r.role));
  return roles.size > 0 ? { ok: true, roles } : { ok: false };
}
