// Equality-based label and field selectors (`a=b,c!=d,e,!f`), enough for kubectl's -l and --field-selector.
import type { KubeObject } from "./store.ts";

export type ObjectFilter = (o: KubeObject) => boolean;

type Rule = { key: string; op: "=" | "!=" | "exists" | "!exists"; value: string };

function parseRules(text: string | null): Rule[] {
  if (!text) return [];
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s): Rule => {
      const ne = s.indexOf("!=");
      if (ne > 0) return { key: s.slice(0, ne), op: "!=", value: s.slice(ne + 2) };
      const eq = s.indexOf("=");
      if (eq > 0) return { key: s.slice(0, eq), op: "=", value: s.slice(eq + (s[eq + 1] === "=" ? 2 : 1)) };
      if (s.startsWith("!")) return { key: s.slice(1), op: "!exists", value: "" };
      return { key: s, op: "exists", value: "" };
    });
}

function test(rule: Rule, value: string | undefined): boolean {
  switch (rule.op) {
    case "=":
      return value === rule.value;
    case "!=":
      return value !== rule.value;
    case "exists":
      return value !== undefined;
    case "!exists":
      return value === undefined;
  }
}

const FIELDS: Record<string, (o: KubeObject) => string | undefined> = {
  "metadata.name": (o) => o.metadata.name,
  "metadata.namespace": (o) => o.metadata.namespace,
  "status.phase": (o) => o.status?.phase,
  "spec.nodeName": (o) => o.spec?.nodeName,
};

/** Compiles `labelSelector` and `fieldSelector`; throws Error naming an unsupported field. */
export function compileFilter(labelSelector: string | null, fieldSelector: string | null): ObjectFilter {
  const labels = parseRules(labelSelector);
  const fields = parseRules(fieldSelector);
  for (const f of fields) {
    if (!FIELDS[f.key]) throw new Error(`field label not supported: ${f.key}`);
  }
  return (o) =>
    labels.every((r) => test(r, o.metadata.labels?.[r.key])) &&
    fields.every((r) => test(r, FIELDS[r.key]?.(o)));
}
