// Label/tag selectors with Teleport's semantics: keys AND, values OR, "*" any, ^…$ RE2 regex, else glob.
// The one label-matching module: roles, kubernetes_service.resources and discovery matchers all use it.
import * as v from "valibot";
import { badParameter } from "./errors.ts";
import { type CompiledPattern, compilePattern, patternWarning } from "./label-patterns.ts";
import { formatPath } from "./problems.ts";

export { isRegexValue, PATTERN_LIMITS } from "./label-patterns.ts";

/** A selector as written in config: key → one value or a list of alternatives. */
export type LabelSelector = Record<string, string | readonly string[]>;
export type Labels = Record<string, string>;

/**
 * Limits on one selector (one `kubernetes_labels` or `tags` map), so one role cannot make every
 * gateway's role compile slow: values in all, and RE2 instructions of all its patterns together.
 */
export const SELECTOR_LIMITS = { maxValues: 1000, maxProgram: 50_000 } as const;

/** A problem or warning inside a selector; `path` is relative to it: `[key]` or `[key, index]`. */
export interface SelectorProblem {
  path: (string | number)[];
  message: string;
}

export interface CompiledSelector {
  matches(labels: Labels): boolean;
  /** The first key that did not match, for "why not" messages; undefined when it matches. */
  mismatch(labels: Labels): string | undefined;
}

export interface SelectorCheck {
  /** Set when there are no problems. */
  compiled?: CompiledSelector;
  problems: SelectorProblem[];
  /** Valid but probably not meant (`^staging|prod$`). */
  warnings: SelectorProblem[];
}

const isMap = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * Checks a selector as written (any shape) and compiles it: every problem at once (bad keys, values
 * that are not strings, invalid or unsupported patterns with their position, limits), and warnings.
 * An empty selector, or one with `"*": "*"`, matches everything.
 */
export function checkSelector(raw: unknown): SelectorCheck {
  const problems: SelectorProblem[] = [];
  const warnings: SelectorProblem[] = [];
  if (raw === undefined || raw === null) raw = {};
  if (!isMap(raw)) return { problems: [{ path: [], message: "must be a map of label: value" }], warnings };
  const entries = Object.entries(raw);
  const count = entries.reduce((n, [, x]) => n + (Array.isArray(x) ? x.length : 1), 0);
  if (count > SELECTOR_LIMITS.maxValues)
    return {
      problems: [
        {
          path: [],
          message: `has ${count} values; a selector may have at most ${SELECTOR_LIMITS.maxValues}`,
        },
      ],
      warnings,
    };
  let program = 0;
  let overBudget = false;
  const rules: { key: string; any: CompiledPattern[] }[] = [];
  for (const [key, value] of entries) {
    if (!isValidLabelKey(key))
      problems.push({
        path: [key],
        message: `${JSON.stringify(key)} is not a valid label key (letters, digits and -_./:, at most 253)`,
      });
    const list = Array.isArray(value) ? value : [value];
    const at = (i: number) => (Array.isArray(value) ? [key, i] : [key]);
    if (key === "*" && !(list.length === 1 && list[0] === "*"))
      problems.push({ path: [key], message: 'the wildcard key "*" takes only the value "*"' });
    const any: CompiledPattern[] = [];
    list.forEach((item, i) => {
      if (typeof item !== "string") {
        problems.push({
          path: at(i),
          message: `must be a string${Array.isArray(value) ? "" : " or a list of strings"}, got ${describe(item)}`,
        });
        return;
      }
      const warning = patternWarning(item);
      if (warning) warnings.push({ path: at(i), message: warning });
      if (overBudget) return;
      const r = compilePattern(item);
      if (!r.ok) {
        problems.push({ path: at(i), message: r.message });
        return;
      }
      program += r.pattern.program;
      if (program > SELECTOR_LIMITS.maxProgram) {
        // Stop compiling: what comes after would only cost more time.
        overBudget = true;
        problems.push({
          path: at(i),
          message: `the patterns of this selector compile to over ${SELECTOR_LIMITS.maxProgram} RE2 instructions in all (from here on); split the role or simplify the patterns`,
        });
        return;
      }
      any.push(r.pattern);
    });
    rules.push({ key, any });
  }
  if (problems.length > 0) return { problems, warnings };
  const wildcard = entries.length === 0 || (raw["*"] !== undefined && rules.some((r) => r.key === "*"));
  const mismatch = (labels: Labels): string | undefined => {
    if (wildcard) return undefined;
    for (const { key, any } of rules) {
      // The labels' own keys only: `constructor` or `toString` is a label like any other, not
      // Object.prototype's (which matched "*" for every cluster, and threw under a regex).
      const value = Object.hasOwn(labels, key) ? labels[key] : undefined;
      if (typeof value !== "string" || !any.some((m) => m.test(value))) return key;
    }
    return undefined;
  };
  return { compiled: { matches: (labels) => mismatch(labels) === undefined, mismatch }, problems, warnings };
}

/**
 * Compiles a selector once. Throws bad_parameter naming the first problem (config and resource
 * validation report every problem earlier, with its path; see checkSelector).
 */
export function compileSelector(selector: LabelSelector | undefined): CompiledSelector {
  const { compiled, problems } = checkSelector(selector);
  if (compiled) return compiled;
  const first = problems[0]!;
  throw badParameter(`${first.path.length ? `${formatPath(first.path)}: ` : ""}${first.message}`);
}

/**
 * A valibot schema for a selector: every problem checkSelector finds becomes an issue at its path,
 * so config and resources report `kubernetes_labels.team[1]: invalid regular expression …`.
 */
export const selectorSchema = v.pipe(
  v.custom<LabelSelector>(isMap, (i) => `must be a map of label: value, got ${i.received}`),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const p of checkSelector(dataset.value).problems) {
      let input: unknown = dataset.value;
      const path = p.path.map((key) => {
        const item = {
          type: typeof key === "number" ? "array" : "object",
          origin: "value",
          input,
          key,
          value: (input as Record<string | number, unknown>)[key],
        } as v.IssuePathItem;
        input = item.value;
        return item;
      });
      addIssue({ message: p.message, ...(path.length ? { path: path as [v.IssuePathItem] } : {}) });
    }
  }),
);

const describe = (x: unknown) =>
  x === null
    ? "null"
    : Array.isArray(x)
      ? "a list"
      : typeof x === "object"
        ? "a map"
        : `${typeof x} ${JSON.stringify(x)}`;

/** Kubernetes-style label key check (prefix/name), relaxed the way Teleport is: letters, digits, -_./: */
export function isValidLabelKey(key: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,252}$/.test(key) || key === "*";
}
