// The reference for kubeport's glob matcher (src/lib/label-patterns.ts): a glob means its RE2 program
// `(?s)^p0.*p1…$`, each part quoted, and the matcher must answer as that program does. Random globs
// and values from a seeded xorshift32, so every run checks the same cases and a failure reproduces.
import { RE2JS } from "re2js";
import { compilePattern, isRegexValue } from "../../src/lib/label-patterns.ts";

/** The RE2 program that defines `glob`. */
export const globProgram = (glob: string) =>
  RE2JS.compile(`(?s)^${glob.split("*").map(RE2JS.quote).join(".*")}$`);

export interface Alphabets {
  /** What globs are made of (repeat an entry to make it likelier). */
  glob: string[];
  /** What values are made of. */
  value: string[];
}

export interface Sample {
  seed: number;
  /** Globs drawn (those without a `*`, or that are regular expressions, are skipped). */
  globs: number;
  /** The longest glob, in entries of the alphabet. */
  globMax: number;
  /** Values tried per glob: the first `filled` are the glob with each `*` filled in (hits and near misses). */
  values: number;
  filled: number;
  /** The longest random value, and the longest fill of one `*`. */
  valueMax: number;
  fillMax: number;
}

/**
 * Where the matcher and the RE2 program disagree ([glob, value, the matcher's answer]), how many
 * were checked, and the generator's state after (to go on with one sequence over another alphabet).
 */
export function compareWithProgram(
  alphabets: Alphabets,
  s: Sample,
): { wrong: [string, string, boolean][]; checked: number; seed: number } {
  let seed = s.seed;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const word = (chars: string[], max: number) =>
    Array.from({ length: rand(max + 1) }, () => chars[rand(chars.length)]).join("");
  const wrong: [string, string, boolean][] = [];
  let checked = 0;
  for (let g = 0; g < s.globs; g++) {
    const glob = word(alphabets.glob, s.globMax);
    if (!glob.includes("*") || isRegexValue(glob)) continue; // `^…$` is a regular expression
    const c = compilePattern(glob);
    if (!c.ok) throw new Error(`${JSON.stringify(glob)}: ${c.message}`);
    const re = globProgram(glob);
    for (let v = 0; v < s.values; v++) {
      const value =
        v < s.filled
          ? glob.replaceAll("*", () => word(alphabets.value, s.fillMax))
          : word(alphabets.value, s.valueMax);
      const got = c.pattern.test(value);
      if (got !== re.test(value)) wrong.push([glob, value, got]);
      checked++;
    }
  }
  return { wrong, checked, seed };
}
