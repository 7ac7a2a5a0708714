// Red team 4 (issue 13's speed work): globs in kubernetes_resources names/namespaces and in roles'
// kubernetes_labels are matched by a hand-written matcher instead of their RE2 program
// `(?s)^p0.*p1…$`. Both are access decisions (a deny rule's name, which clusters a role reaches), so
// the matcher must answer as RE2 for every glob and value: regex metacharacters in the glob (plain
// characters there), `*` runs, empty parts, prefix/suffix overlap, NUL, CR/LF, U+2028, lone
// surrogates and astral characters in the value, very long values. No finding: passes on main as of
// f50f210 and guards the fast path (the unit test beside the matcher uses a small alphabet).
import { expect, test } from "bun:test";
import { compilePattern } from "../../src/lib/label-patterns.ts";
import { compileSelector } from "../../src/lib/labels.ts";
import { compareWithProgram, globProgram } from "../helpers/glob-reference.ts";

test("globs with regex metacharacters, control and non-ASCII values: the matcher answers as the RE2 program", () => {
  const hostile = {
    glob: [
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
    ],
    value: [
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
    ],
  };
  // Parts that overlap each other and the suffix.
  const tiny = { glob: ["a", "b", "a", "*", "*", "-"], value: ["a", "b", "a", "-"] };
  const wrong: [string, string, boolean][] = [];
  let checked = 0;
  // One sequence over both alphabets, as the cases were first drawn.
  let seed = 0x5eed;
  for (const alphabets of [hostile, tiny]) {
    const sample = { seed, globs: 3000, globMax: 8, values: 30, filled: 15, valueMax: 10, fillMax: 3 };
    const r = compareWithProgram(alphabets, sample);
    wrong.push(...r.wrong);
    checked += r.checked;
    seed = r.seed;
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
        globProgram(glob).test(value),
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
