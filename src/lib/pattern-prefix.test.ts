import { describe, expect, test } from "bun:test";
import { compilePattern } from "./label-patterns.ts";
import { prefixVerdict } from "./pattern-prefix.ts";

describe("prefixVerdict", () => {
  test.each([
    // [value, prefix, some, all]
    ["*", "web-", true, true],
    ["aws-auth", "aws-", true, false],
    ["aws-auth", "aws-auth", false, false],
    ["aws-auth", "web-", false, false],
    ["secret-*", "secret-", true, true],
    ["secret-*", "secret-x", true, true],
    ["secret-*", "sec", true, false],
    ["secret-*", "web-", false, false],
    ["*-db", "web-", true, false],
    ["*-*", "a-", true, true],
    ["a*b", "ab", true, false],
    ["web-?", "web-", true, false], // a literal: only * is special in a glob
    ["^secret-.*$", "secret-", true, true],
    ["^secret-.*$", "sec", true, false],
    ["^secret-.*$", "web-", false, false],
    ["^kube\\-.*$", "kube-x", true, true],
    ["^kube-[a-z]+$", "web-", false, false],
    ["^kube-[a-z]+$", "kube-", true, false],
    ["^kubee?-.*$", "kube-", true, false],
    ["^(web|secret)-.*$", "secret-", true, false],
    ["^web-.*|secret$", "x", true, false],
    ["^\\d+$", "web-", true, false],
  ])("%p with prefix %p: some=%p all=%p", (value, prefix, some, all) => {
    expect(prefixVerdict(value, prefix)).toEqual({ some, all });
  });

  // Soundness against the real matcher: every claim holds for sample names the API server could make.
  test("claims agree with the compiled pattern on generated names", () => {
    const values = [
      "*",
      "aws-auth",
      "secret-*",
      "*-db",
      "*-*",
      "a*b",
      "^secret-.*$",
      "^kube-[a-z]+$",
      "^kubee?-.*$",
    ];
    const prefixes = ["", "a", "a-", "ab", "aws-", "secret-", "sec", "kube-", "kub", "web-"];
    const suffixes = ["bcdfg", "x2z4q", "-db", "b", "auth"];
    for (const v of values) {
      const p = compilePattern(v);
      if (!p.ok) throw new Error(p.message);
      for (const pre of prefixes) {
        const { some, all } = prefixVerdict(v, pre);
        for (const s of suffixes) {
          const m = p.pattern.test(pre + s);
          if (m) expect({ v, pre, s, some }).toEqual({ v, pre, s, some: true });
          if (all) expect({ v, pre, s, m }).toEqual({ v, pre, s, m: true });
        }
      }
    }
  });
});
