// One selector value → a matcher, with RE2 semantics (as Teleport's Go matcher): "*", `^…$` regex, glob, literal.
import { RE2JS, RE2JSSyntaxException } from "re2js";

/**
 * Limits on one value. A normal pattern (`^dev-.*$`, `^(staging|prod)$`) is under 40 characters and
 * 50 RE2 instructions; the limits stop a pattern that would make every gateway's role compile slow.
 */
export const PATTERN_LIMITS = {
  /** Characters in one value. */
  maxLength: 1024,
  /** RE2 instructions one compiled pattern may have (`^(a{30}){30}$` has 964). */
  maxProgram: 10_000,
} as const;

export interface CompiledPattern {
  test(value: string): boolean;
  /** RE2 instructions (1 for a literal or "*"): what a selector's compile budget counts. */
  program: number;
}

export type PatternResult = { ok: true; pattern: CompiledPattern } | { ok: false; message: string };

/** True when the text is a `^…$` regular expression selector value (Teleport's rule). */
export const isRegexValue = (v: string) => v.length >= 2 && v.startsWith("^") && v.endsWith("$");

const ANY: CompiledPattern = { test: () => true, program: 1 };

// Compiled patterns are immutable and shared: validation, the registry's write check and the
// gateway's role compile in one process ask for the same ones. Cleared whole when full.
const cache = new Map<string, PatternResult>();
const CACHE_MAX = 4096;

/** Compiles one selector value; a `^…$` value must be valid RE2 within PATTERN_LIMITS. */
export function compilePattern(value: string): PatternResult {
  let r = cache.get(value);
  if (!r) {
    r = compileUncached(value);
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(value, r);
  }
  return r;
}

function compileUncached(value: string): PatternResult {
  if (value === "*") return { ok: true, pattern: ANY };
  if (value.length > PATTERN_LIMITS.maxLength)
    return {
      ok: false,
      message: `is ${value.length} characters; a label value or pattern may have at most ${PATTERN_LIMITS.maxLength}`,
    };
  if (!isRegexValue(value) && !value.includes("*"))
    return { ok: true, pattern: { test: (x) => x === value, program: 1 } };
  // An ASCII glob matches as RE2 would run it, without RE2: a filtered list asks once per item, and
  // re2js per item was the largest cost of filtering a 5,000-pod list (issue 13). The RE2 program is
  // still compiled below for its size; its `test` is not used.
  const glob = isRegexValue(value) ? undefined : asciiGlob(value);
  // A glob: only `*` is special, anchored, and `*` also spans newlines (as kubeport always had it).
  const source = isRegexValue(value)
    ? value
    : `(?s)^${value
        .split("*")
        .map((part) => RE2JS.quote(part))
        .join(".*")}$`;
  const unsupported = isRegexValue(value) ? unsupportedSyntax(value) : undefined;
  if (unsupported) return { ok: false, message: invalid(value, unsupported) };
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (err) {
    return { ok: false, message: invalid(value, describeSyntaxError(value, err)) };
  }
  const program = re.programSize();
  if (program > PATTERN_LIMITS.maxProgram)
    return {
      ok: false,
      message: `${JSON.stringify(value)} compiles to ${program} RE2 instructions; one pattern may have at most ${PATTERN_LIMITS.maxProgram} (large repeat counts such as {30}{30} multiply)`,
    };
  return { ok: true, pattern: { test: glob ?? ((x) => re.test(x)), program } };
}

/**
 * `(?s)^p0.*p1.*…pn$` for a glob `p0*p1*…*pn` whose parts are ASCII: p0 a prefix, pn a suffix, the
 * middle parts found leftmost in order between them (leftmost is enough: `.*` takes any gap). ASCII
 * parts cannot match inside a surrogate pair, so UTF-16 indexes give RE2's code-point answer.
 * Undefined for a glob with other characters (RE2 then).
 */
function asciiGlob(value: string): ((x: string) => boolean) | undefined {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return undefined;
  const parts = value.split("*");
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  const middle = parts.slice(1, -1).filter((p) => p !== "");
  const least = first.length + last.length;
  if (middle.length === 0) return (x) => x.length >= least && x.startsWith(first) && x.endsWith(last);
  return (x) => {
    if (x.length < least || !x.startsWith(first) || !x.endsWith(last)) return false;
    const stop = x.length - last.length;
    let at = first.length;
    for (const p of middle) {
      const found = x.indexOf(p, at);
      if (found < 0 || found + p.length > stop) return false;
      at = found + p.length;
    }
    return true;
  };
}

const invalid = (value: string, why: string) =>
  `invalid regular expression ${JSON.stringify(value)}: ${why} (label patterns are RE2, as in Teleport)`;

/**
 * A warning for a value that probably does not say what was meant (undefined when there is nothing to
 * say). Each of these is valid, and on a deny side each silently denies less than it seems to:
 * - a regex whose `|` is outside any group: `^staging|prod$` reads (^staging)|(prod$), so it also
 *   matches `nonprod` and `staging-old`;
 * - a value with regex syntax that is not `^…$`, so a literal (or a `*` glob): `(?i)^payments$`,
 *   `^Payments`, `payments|billing`, `pay.*` match only that very text;
 * - a value that starts or ends with whitespace: `"Payments "` matches only with that space.
 */
export function patternWarning(value: string): string | undefined {
  if (!isRegexValue(value)) return literalWarning(value);
  if (!scan(value).topLevelAlternation) return undefined;
  const inner = value.slice(1, -1);
  return `${JSON.stringify(value)} has | outside a group, so ^ binds only to the first alternative and $ only to the last (it reads (^${inner.split("|")[0]})|…|(${inner.split("|").at(-1)}$) and matches more than it says); write ${JSON.stringify(`^(${inner})$`)}`;
}

/** Regex syntax in a value that is not `^…$`: anchors, groups, classes, repeats, `|`, escapes, `.*`. */
const REGEX_SYNTAX = /^\^|\$$|\(\?|[()[\]{}|\\]|\.[*+]/;

function literalWarning(value: string): string | undefined {
  const q = JSON.stringify(value);
  const trimmed = value.trim();
  if (value !== trimmed)
    return `${q} starts or ends with whitespace, so it matches only a value with exactly that whitespace; write ${JSON.stringify(trimmed)} unless it is meant`;
  if (!REGEX_SYNTAX.test(value)) return undefined;
  let inner = value
    .replace(/^\(\?([a-zA-Z]+)\)\^/, "(?$1)")
    .replace(/^\^/, "")
    .replace(/\$$/, "");
  const flags = /^\(\?[a-zA-Z]+\)/.exec(inner)?.[0] ?? "";
  if (scan(inner).topLevelAlternation) inner = `${flags}(${inner.slice(flags.length)})`;
  const pattern = JSON.stringify(`^${inner}$`);
  return value.includes("*")
    ? `${q} is a glob, not a regular expression (only * is special in it; a pattern starts with ^ and ends with $), so ^ $ ( ) | . are plain characters here; for a pattern write ${pattern}`
    : `${q} is a literal, not a regular expression (a pattern starts with ^ and ends with $), so it matches only the value ${q} itself; for a pattern write ${pattern}`;
}

/** Look-arounds and backreferences: RE2 has neither; say so with the position rather than "invalid escape". */
function unsupportedSyntax(value: string): string | undefined {
  const { lookaround, backreference } = scan(value);
  if (lookaround)
    return `look-around ${lookaround.text} at position ${lookaround.at} is not supported (RE2 runs in linear time and has no look-ahead or look-behind)`;
  if (backreference)
    return `backreference ${backreference.text} at position ${backreference.at} is not supported (RE2 has no backreferences)`;
  return undefined;
}

/** re2js says what is wrong and quotes the fragment; add where it is (1-based). */
function describeSyntaxError(value: string, err: unknown): string {
  if (!(err instanceof RE2JSSyntaxException)) return (err as Error).message;
  const what = err.error ?? err.message;
  if (/missing closing \)/.test(what)) {
    const open = scan(value).unclosed;
    return open !== undefined ? `missing closing ) for the ( at position ${open}` : what;
  }
  const fragment = err.input;
  const at = fragment && fragment !== value ? value.indexOf(fragment) : -1;
  return at >= 0 ? `${what} ${fragment} at position ${at + 1}` : `${what}${fragment ? ` ${fragment}` : ""}`;
}

interface Scan {
  lookaround?: { text: string; at: number };
  backreference?: { text: string; at: number };
  /** 1-based position of the innermost ( never closed. */
  unclosed?: number;
  topLevelAlternation: boolean;
}

/** One pass over a regex: escapes, \Q…\E, classes and groups, enough to place the problems above. */
function scan(p: string): Scan {
  const out: Scan = { topLevelAlternation: false };
  const open: number[] = [];
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === "\\") {
      const next = p[i + 1];
      if (next === "Q") {
        const end = p.indexOf("\\E", i + 2);
        i = end < 0 ? p.length : end + 2;
        continue;
      }
      if (next !== undefined && /[1-9]/.test(next)) out.backreference ??= { text: `\\${next}`, at: i + 1 };
      i += 2;
    } else if (c === "[") {
      i = skipClass(p, i);
    } else if (c === "(") {
      const look = /^\(\?(=|!|<=|<!)/.exec(p.slice(i));
      if (look) out.lookaround ??= { text: look[0], at: i + 1 };
      open.push(i + 1);
      i++;
    } else if (c === ")") {
      open.pop();
      i++;
    } else {
      if (c === "|" && open.length === 0) out.topLevelAlternation = true;
      i++;
    }
  }
  if (open.length > 0) out.unclosed = open.at(-1);
  return out;
}

/** The index after a character class starting at `start` (`[`), minding `[]…]`, `[^]…]`, escapes and `[:alpha:]`. */
function skipClass(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === "^") i++;
  if (p[i] === "]") i++;
  while (i < p.length && p[i] !== "]") {
    if (p[i] === "\\") i += 2;
    else if (p[i] === "[" && p[i + 1] === ":") {
      const end = p.indexOf(":]", i + 2);
      i = end < 0 ? i + 1 : end + 2;
    } else i++;
  }
  return i + 1;
}
