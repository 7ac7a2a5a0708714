// kubernetes_resources rules compiled for matching (Teleport v8: kind exact or "*", api_group /
// namespace / name literal, glob or ^…$ RE2, whole-string; verbs listed or "*").
import { knownKind } from "../../lib/kube-kinds.ts";
import { type CompiledPattern, compilePattern } from "../../lib/label-patterns.ts";
import type { KubeResourceRule } from "../../registry/index.ts";

/** The attributes of one object a request touches (namespace "" = cluster-scoped). */
export interface ResourceAttrs {
  /** get list watch create update patch delete deletecollection exec portforward */
  verb: string;
  /** Plural resource. */
  kind: string;
  apiGroup: string;
  namespace: string;
  name: string;
}

export interface CompiledRule {
  /** Where it came from, for messages: role name, allow/deny and index. */
  role: string;
  side: "allow" | "deny";
  index: number;
  /** As written (with defaults filled), for messages. */
  source: Required<KubeResourceRule>;
  kind: string;
  anyVerb: boolean;
  verbs: ReadonlySet<string>;
  group: CompiledPattern;
  /** The namespace as written: "" = cluster-scoped only, "*" = everything. */
  namespaceText: string;
  namespace: CompiledPattern;
  name: CompiledPattern;
  /** kind "*", api_group "*", namespace "*", name "*", verbs ["*"]. */
  fullWildcard: boolean;
}

/** Teleport's v8 default for a role that reaches clusters but lists no kubernetes_resources. */
export const FULL_WILDCARD: Required<KubeResourceRule> = {
  kind: "*",
  api_group: "*",
  namespace: "*",
  name: "*",
  verbs: ["*"],
};

/**
 * Compiles one rule (validated already: a pattern that does not compile throws, and the role that
 * holds it is broken). api_group defaults to the kind's group (`*` for kind `*`); namespace to "".
 */
export function compileRule(
  rule: KubeResourceRule,
  where: { role: string; side: "allow" | "deny"; index: number },
): CompiledRule {
  const source: Required<KubeResourceRule> = {
    kind: rule.kind,
    api_group: rule.api_group ?? (rule.kind === "*" ? "*" : (knownKind(rule.kind)?.group ?? "")),
    namespace: rule.namespace ?? "",
    name: rule.name,
    verbs: rule.verbs,
  };
  const anyVerb = source.verbs[0] === "*";
  return {
    ...where,
    source,
    kind: source.kind,
    anyVerb,
    verbs: new Set(source.verbs),
    group: must(source.api_group),
    namespaceText: source.namespace,
    namespace: must(source.namespace),
    name: must(source.name),
    fullWildcard:
      source.kind === "*" &&
      source.api_group === "*" &&
      source.namespace === "*" &&
      source.name === "*" &&
      anyVerb,
  };
}

function must(value: string): CompiledPattern {
  const r = compilePattern(value);
  if (!r.ok) throw new Error(r.message);
  return r.pattern;
}

/** True when the rule names this verb, kind and group (what a collection request can know up front). */
export function ruleCovers(r: CompiledRule, verb: string, kind: string, apiGroup: string): boolean {
  return (r.anyVerb || r.verbs.has(verb)) && (r.kind === "*" || r.kind === kind) && r.group.test(apiGroup);
}

/**
 * The rule's namespace against an object's: a rule namespace that is neither "" nor "*" never matches a
 * cluster-scoped object; "" matches only cluster-scoped objects; "*" matches both.
 */
export function namespaceMatches(r: CompiledRule, namespace: string): boolean {
  if (namespace === "") return r.namespaceText === "" || r.namespaceText === "*";
  if (r.namespaceText === "") return false;
  return r.namespace.test(namespace);
}

/** Teleport's matcher for one rule and one object (KubeResourceMatchesRegex, v8). */
export function ruleMatches(r: CompiledRule, a: ResourceAttrs): boolean {
  if (!(r.anyVerb || r.verbs.has(a.verb))) return false;
  if (r.kind === "*" || r.kind === a.kind) {
    if (r.group.test(a.apiGroup) && namespaceMatches(r, a.namespace) && r.name.test(a.name)) return true;
  }
  // A rule on the namespace object X reaches every object inside X (custom resources included).
  return r.kind === "namespaces" && a.namespace !== "" && r.name.test(a.namespace);
}

/**
 * Read-only visibility of a namespace: an allow rule for anything inside namespace X lets its holder
 * get/list/watch the namespace object X (never from deny rules).
 */
export function grantsNamespaceVisibility(r: CompiledRule, a: ResourceAttrs): boolean {
  return (
    a.kind === "namespaces" &&
    a.apiGroup === "" &&
    a.namespace === "" &&
    (a.verb === "get" || a.verb === "list" || a.verb === "watch") &&
    r.namespaceText !== "" &&
    r.namespace.test(a.name)
  );
}

/** The rule as YAML-ish text for a refusal: `{kind: pods, namespace: default, name: "web-*", verbs: [get]}`. */
export function describeRule(r: Required<KubeResourceRule>): string {
  const q = (s: string) => (/^[A-Za-z0-9._/-]+$/.test(s) ? s : JSON.stringify(s));
  return `{kind: ${q(r.kind)}, api_group: ${JSON.stringify(r.api_group)}, namespace: ${r.namespace === "" ? '""' : q(r.namespace)}, name: ${q(r.name)}, verbs: [${r.verbs.join(", ")}]}`;
}
