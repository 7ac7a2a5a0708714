import { expect, test } from "bun:test";
import { compareWithProgram } from "../../test/helpers/glob-reference.ts";
import { compilePattern } from "./label-patterns.ts";

// Globs match without RE2 (a filtered list asks once per item); they must answer exactly as the RE2
// program `(?s)^p0.*p1…$` that defines them.
test("ASCII globs answer as their RE2 program, over random globs and values", () => {
  // Few letters, so that parts overlap often (a middle part running into the suffix).
  const { wrong, checked } = compareWithProgram(
    {
      glob: ["a", "b", "a", "b", "*", "*", ".", "\n", "(", "\\"],
      value: ["a", "b", "a", "b", "a", "b", ".", "\n", "(", "\\", "é", "😀", "\ud800"],
    },
    { seed: 13, globs: 1000, globMax: 7, values: 60, filled: 10, valueMax: 9, fillMax: 3 },
  );
  expect(wrong.slice(0, 10)).toEqual([]);
  expect(checked).toBeGreaterThan(5000);
});

test("glob edge cases", () => {
  const t = (glob: string, value: string) => {
    const c = compilePattern(glob);
    if (!c.ok) throw new Error(c.message);
    return c.pattern.test(value);
  };
  expect(t("web-*", "web-")).toBe(true);
  expect(t("web-*", "web")).toBe(false);
  expect(t("a*a", "a")).toBe(false);
  expect(t("a*a", "aa")).toBe(true);
  expect(t("a*ba*a", "aba")).toBe(false);
  expect(t("a*ba*a", "abaa")).toBe(true);
  expect(t("*ab*ab*", "abab")).toBe(true);
  expect(t("*ab*ab*", "aba")).toBe(false);
  expect(t("x*\n*y", "x\ny")).toBe(true);
  expect(t("**", "")).toBe(true);
  expect(t("é*", "éa")).toBe(true);
  expect(t("é*", "ea")).toBe(false);
});
