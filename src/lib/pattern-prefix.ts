// What a selector value (literal, "*", glob, `^…$` RE2 — label-patterns.ts) says about every string
// that starts with a given prefix. An object created with `metadata.generateName` gets its name from
// the API server (the prefix + 5 random characters), so a rule on names is checked against all the
// names it could get: a deny must not be able to match any of them, an allow must match all of them.
// Answers are exact for "*", literals and globs; for a regex they are conservative (a deny "may
// match", an allow "does not match all") unless its shape is plain enough to read.
import { isRegexValue } from "./label-patterns.ts";

export interface PrefixVerdict {
  /** Some string starting with the prefix (and at least one more character) may match. */
  some: boolean;
  /** Every string starting with the prefix and at least one more character matches. */
  all: boolean;
}

const YES: PrefixVerdict = { some: true, all: true };

/** The verdict of `value` (a rule's name as written) over the strings `prefix` + one or more characters. */
export function prefixVerdict(value: string, prefix: string): PrefixVerdict {
  if (value === "*") return YES;
  if (isRegexValue(value)) return regexVerdict(value.slice(1, -1), prefix);
  if (!value.includes("*"))
    return { some: value.length > prefix.length && value.startsWith(prefix), all: false };
  return globVerdict(value, prefix);
}

/**
 * A glob (only `*` is special; it also spans newlines) run as a small NFA over the prefix: the
 * states left are the pattern positions the prefix can end at. Some name may match when any is left
 * (the rest of a glob is always satisfiable); all do when one of them has only `*` left.
 */
function globVerdict(glob: string, prefix: string): PrefixVerdict {
  const n = glob.length;
  const closure = (states: Set<number>) => {
    for (const i of states) if (i < n && glob[i] === "*") states.add(i + 1);
    return states;
  };
  let states = closure(new Set([0]));
  for (let k = 0; k < prefix.length && states.size > 0; k++) {
    const c = prefix[k];
    const next = new Set<number>();
    for (const i of states) {
      if (i >= n) continue;
      if (glob[i] === "*") next.add(i);
      else if (glob[i] === c) next.add(i + 1);
    }
    states = closure(next);
  }
  let some = false;
  let all = false;
  for (const i of states) {
    // At the end of the pattern only the prefix itself matches, not a longer name.
    if (i < n || glob.endsWith("*")) some = true;
    if (i < n && /^\*+$/.test(glob.slice(i))) all = true;
  }
  return { some, all };
}

const REGEX_META = new Set([..."\\.+*?()|[]{}^$"]);
const QUANTIFIERS = new Set([..."*+?{"]);

/**
 * A regex body (between ^ and $). Its literal lead (the characters before the first regex syntax)
 * bounds what it can match: when neither that lead nor the prefix starts with the other, no name
 * with the prefix matches. `L.*` (a literal lead then `.*`) matches every name starting with L that
 * has no newline. Anything else — alternation, flags, classes — is read conservatively.
 */
function regexVerdict(body: string, prefix: string): PrefixVerdict {
  if (body.includes("|") || body.startsWith("(?")) return { some: true, all: false };
  let lead = "";
  let i = 0;
  while (i < body.length) {
    let c = body[i]!;
    let width = 1;
    if (c === "\\") {
      const next = body[i + 1];
      // Only an escaped punctuation character is that character (\d, \w, \Q… are not literals).
      if (next === undefined || /[A-Za-z0-9]/.test(next)) break;
      c = next;
      width = 2;
    } else if (REGEX_META.has(c)) break;
    // A quantified character is optional or repeated: it is not part of the lead.
    if (QUANTIFIERS.has(body[i + width] ?? "")) break;
    lead += c;
    i += width;
  }
  const rest = body.slice(i);
  const some = prefix.startsWith(lead) || lead.startsWith(prefix);
  const all = rest === ".*" && prefix.startsWith(lead) && !prefix.includes("\n");
  return { some, all };
}
