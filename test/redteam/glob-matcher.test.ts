// Red team 4 (issue 13's speed work): globs in kubernetes_resources names/namespaces and in roles'
// kubernetes_labels are matched by a hand-written matcher instead of their RE2 program
// `(?s)^p0.*p1…$`. Both are access decisions (a deny rule's name, which clusters a role reaches), so
// the matcher must answer as RE2 for every glob and value: regex metacharacters in the glob (plain
// characters there), `*` runs, empty parts, prefix/suffix overlap, NUL, CR/LF, U+2028, lone
// surrogates and astral characters in the value, very long values. No finding: passes on main as of
// f50f210 and guards the fast path (the unit test beside the matcher uses a small alphabet).
import { expect, test } from "bun:test";
import { RE2JS } from "re2js";
import { compilePattern } from "../../src/lib/label-patterns.ts";
import { compileSelector } from "../../src/lib/labels.ts";

const program = (glob: string) => RE2JS.compile(`(?s)^${glob.split("*").map(RE2JS.quote).join(".*")}$`);
const isRegex = (g: string) => g.length >= 2 && g.startsWith("^") && g.endsWith("$");

test("globs with regex metacharacters, control and non-ASCII values: the matcher answers as the RE2 program", () => {
  let seed = 0x5eed;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const globChars = [
    "a",
    "b",
    "*",
    "*",
    "$",
    "^",
    ".",
    "[",
    "]",
    "\\",
    "?",
    "+",
    "|",
    "(",
    "{",
    "\0",
    "\r",
    "\n",
    "-",
    "\\Q",
    "\\E",
    "é",
  ];
  const valueChars = [
    "a",
    "b",
    "$",
    "^",
    ".",
    "\\",
    "\0",
    "\r",
    "\n",
    "\u2028",
    "\ud83d",
    "\ude00",
    "😀",
    "é",
    "\uffff",
    "\ud800",
    " ",
    "-",
    "Q",
    "E",
    "*",
  ];
  const word = (chars: string[], max: number) =>
    Array.from({ length: rand(max + 1) }, () => chars[rand(chars.length)]).join("");
  const wrong: [string, string, boolean][] = [];
  let checked = 0;
  // The hostile alphabets, then a tiny one (parts that overlap each other and the suffix).
  const alphabets: [string[], string[]][] = [
    [globChars, valueChars],
    [
      ["a", "b", "a", "*", "*", "-"],
      ["a", "b", "a", "-"],
    ],
  ];
  for (const [gc, vc] of alphabets)
    for (let g = 0; g < 3000; g++) {
      const glob = word(gc, 8);
      if (!glob.includes("*") || isRegex(glob)) continue;
      const c = compilePattern(glob);
      if (!c.ok) throw new Error(`${JSON.stringify(glob)}: ${c.message}`);
      const re = program(glob);
      for (let v = 0; v < 30; v++) {
        // Half the values are the glob with its stars filled (near misses and hits), half random.
        const value = v < 15 ? glob.replaceAll("*", () => word(vc, 3)) : word(vc, 10);
        const got = c.pattern.test(value);
        if (got !== re.test(value)) wrong.push([glob, value, got]);
        checked++;
      }
    }
  expect(wrong.slice(0, 10)).toEqual([]);
  expect(checked).toBeGreaterThan(20_000);
});

test("very long values and globs whose parts overlap: the same answers", () => {
  const long = `${"ab".repeat(50_000)}\n${"a".repeat(50_000)}b`;
  for (const glob of [
    "*b",
    "a*b",
    "*a*b*",
    "*ab",
    "ab*ab*ab",
    "*\n*",
    "a*\n",
    "*ba*ab*b",
    "**b**",
    "abab*abab",
    "*aab",
  ]) {
    const c = compilePattern(glob);
    if (!c.ok) throw new Error(c.message);
    for (const value of [long, long.slice(1), long.slice(0, -1), `${long}\n`, ""])
      expect([glob, value.length, c.pattern.test(value)]).toEqual([
        glob,
        value.length,
        program(glob).test(value),
      ]);
  }
});

test("a role's cluster-label selector: a glob reaches exactly the clusters its RE2 program does", () => {
  const selector = compileSelector({ env: ["prod-*", "*-eu-*-1"], team: "pay*.*" });
  const cases: [Record<string, string>, boolean][] = [
    [{ env: "prod-a", team: "pay.x" }, true],
    [{ env: "prod-", team: "pay." }, true],
    [{ env: "prod", team: "pay.x" }, false],
    [{ env: "xprod-a", team: "pay.x" }, false],
    [{ env: "prod-a\n", team: "pay.x" }, true],
    [{ env: "a-eu-west-1", team: "payments.core" }, true],
    [{ env: "a-eu-west-1\n", team: "payments.core" }, false],
    [{ env: "-eu--1", team: "pay." }, true],
    [{ env: "-eu-1", team: "pay." }, false],
    [{ env: "prod-a", team: "payments" }, false],
    [{ env: "prod-a", team: "PAY.x" }, false],
    [{ env: "prod-a" }, false],
  ];
  expect(cases.map(([labels]) => selector.matches(labels))).toEqual(cases.map(([, want]) => want));
});
