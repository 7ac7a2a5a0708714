import { expect, test } from "bun:test";
import { RE2JS } from "re2js";
import { compilePattern } from "./label-patterns.ts";

// Globs match without RE2 (a filtered list asks once per item); they must answer exactly as the RE2
// program `(?s)^p0.*p1…$` that defines them.
test("ASCII globs answer as their RE2 program, over random globs and values", () => {
  let seed = 13;
  const rand = (n: number) => {
    // xorshift32: the same sequence every run.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  // Few letters, so that parts overlap often (a middle part running into the suffix).
  const globChars = ["a", "b", "a", "b", "*", "*", ".", "\n", "(", "\\"];
  const valueChars = ["a", "b", "a", "b", "a", "b", ".", "\n", "(", "\\", "é", "😀", "\ud800"];
  const word = (chars: string[], max: number) =>
    Array.from({ length: rand(max + 1) }, () => chars[rand(chars.length)]).join("");
  let checked = 0;
  for (let g = 0; g < 1000; g++) {
    const glob = word(globChars, 7);
    if (!glob.includes("*") || (glob.startsWith("^") && glob.endsWith("$"))) continue;
    const compiled = compilePattern(glob);
    if (!compiled.ok) throw new Error(compiled.message);
    const re = RE2JS.compile(`(?s)^${glob.split("*").map(RE2JS.quote).join(".*")}$`);
    for (let v = 0; v < 60; v++) {
      const value = v < 10 ? glob.replaceAll("*", word(valueChars, 3)) : word(valueChars, 9);
      expect([glob, value, compiled.pattern.test(value)]).toEqual([glob, value, re.test(value)]);
      checked++;
    }
  }
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
