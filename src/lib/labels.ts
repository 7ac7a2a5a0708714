// Label/tag selectors with Teleport's semantics: keys AND, values OR, "*" any, ^…$ regex, else glob.

/** A selector as written in config: key → one value or a list of alternatives. */
export type LabelSelector = Record<string, string | readonly string[]>;
export type Labels = Record<string, string>;

type ValueMatcher = (value: string) => boolean;

/** True when the text is a `^…$` regular expression selector value. */
export const isRegexValue = (v: string) => v.length >= 2 && v.startsWith("^") && v.endsWith("$");

/** Returns an error message when a selector value is an invalid regular expression. */
export function checkSelectorValue(v: string): string | undefined {
  if (!isRegexValue(v)) return undefined;
  try {
    new RegExp(v);
    return undefined;
  } catch (err) {
    return `invalid regular expression ${JSON.stringify(v)}: ${(err as Error).message}`;
  }
}

function compileValue(v: string): ValueMatcher {
  if (v === "*") return () => true;
  if (isRegexValue(v)) {
    const re = new RegExp(v);
    return (x) => re.test(x);
  }
  if (!v.includes("*")) return (x) => x === v;
  // Glob where only `*` is special; everything else literal, anchored.
  const re = new RegExp(`^${v.split("*").map(escapeRegex).join(".*")}$`, "s");
  return (x) => re.test(x);
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export interface CompiledSelector {
  matches(labels: Labels): boolean;
  /** The first key that did not match, for "why not" messages; undefined when it matches. */
  mismatch(labels: Labels): string | undefined;
}

/**
 * Compiles a selector once. An empty selector, or one with `"*": "*"`, matches everything.
 * Throws on an invalid regular expression (config validation reports it earlier with a path).
 */
export function compileSelector(selector: LabelSelector | undefined): CompiledSelector {
  const entries = Object.entries(selector ?? {});
  const wildcard = entries.length === 0 || entries.some(([k, v]) => k === "*" && toList(v).includes("*"));
  const rules = entries.map(([key, v]) => ({ key, any: toList(v).map(compileValue) }));
  const mismatch = (labels: Labels): string | undefined => {
    if (wildcard) return undefined;
    for (const { key, any } of rules) {
      const value = labels[key];
      if (value === undefined || !any.some((m) => m(value))) return key;
    }
    return undefined;
  };
  return { matches: (labels) => mismatch(labels) === undefined, mismatch };
}

const toList = (v: string | readonly string[]): readonly string[] => (typeof v === "string" ? [v] : v);

/** Kubernetes-style label key check (prefix/name), relaxed the way Teleport is: letters, digits, -_./: */
export function isValidLabelKey(key: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,252}$/.test(key) || key === "*";
}
