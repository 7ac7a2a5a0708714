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
