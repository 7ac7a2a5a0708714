import { describe, expect, test } from "bun:test";
import { checkSelector, compileSelector, type LabelSelector } from "./labels.ts";

const matches = (selector: LabelSelector, labels: Record<string, string>) =>
  compileSelector(selector).matches(labels);

describe("selector matching (Teleport semantics, RE2 patterns)", () => {
  test.each([
    [{ env: "prod" }, { env: "prod" }, true],
    [{ env: "prod" }, { env: "prod2" }, false],
    [{ env: ["staging", "prod"] }, { env: "prod" }, true],
    [{ env: "prod", team: "web" }, { env: "prod" }, false],
    [{ env: "prod-*" }, { env: "prod-eu" }, true],
    [{ env: "prod-*" }, { env: "xprod-eu" }, false],
    [{ env: "a.b*" }, { env: "axb" }, false],
    [{ env: "^dev-.*$" }, { env: "dev-1" }, true],
    [{ env: "^dev-.*$" }, { env: "xdev-1" }, false],
    [{ env: "^(?i)prod$" }, { env: "PROD" }, true],
    [{ env: "^(staging|prod)$" }, { env: "nonprod" }, false],
    // RE2, as Teleport: `^staging|prod$` is (^staging)|(prod$) — the warning below says so.
    [{ env: "^staging|prod$" }, { env: "nonprod" }, true],
    [{ env: "*" }, { env: "anything" }, true],
    [{ env: "*" }, {}, false],
    [{ "*": "*" }, {}, true],
    [{}, { env: "x" }, true],
  ] as [LabelSelector, Record<string, string>, boolean][])("%j on %j → %p", (selector, labels, want) => {
    expect(matches(selector, labels)).toBe(want);
  });
});

describe("selector problems (every one, with its path and the position in the pattern)", () => {
  test.each([
    [
      "an unclosed group",
      { team: ["payments", "^(fin|pay$"] },
      ["team", 1],
      /missing closing \) for the \( at position 2/,
    ],
    ["a look-ahead", { env: "^(?=prod)p.*$" }, ["env"], /look-around \(\?= at position 2 is not supported/],
    [
      "a look-behind",
      { env: ["^(?<!x)a$"] },
      ["env", 0],
      /look-around \(\?<! at position 2 is not supported/,
    ],
    ["a backreference", { env: "^(a)\\1$" }, ["env"], /backreference \\1 at position 5 is not supported/],
    [
      "a nested repetition",
      { env: "^a**$" },
      ["env"],
      /invalid nested repetition operator \*\* at position 3/,
    ],
    ["a bad class range", { env: "^[z-a]$" }, ["env"], /invalid character class range z-a at position 3/],
    [
      "a value that is not a string",
      { env: 7 },
      ["env"],
      /must be a string or a list of strings, got number 7/,
    ],
    ["a list item that is not a string", { env: ["a", { x: 1 }] }, ["env", 1], /must be a string, got a map/],
    ["a bad key", { "bad key": "x" }, ["bad key"], /not a valid label key/],
    ["a wildcard key with a value", { "*": "prod" }, ["*"], /wildcard key "\*" takes only the value "\*"/],
    ["a too long value", { env: `^${"a".repeat(1100)}$` }, ["env"], /at most 1024/],
    [
      "a pattern too big to compile",
      { env: `^${"[a-z]{1000}".repeat(11)}$` },
      ["env"],
      /RE2 instructions; one pattern may have at most 10000/,
    ],
    [
      "a selector whose patterns add up",
      {
        env: Array.from(
          { length: 9 },
          (_, i) => `^${i}[a-z]{1000}[0-9]{1000}[A-Z]{1000}[a-z]{1000}[a-z]{1000}[a-z]{1000}$`,
        ),
      },
      ["env", 8],
      /over 50000 RE2 instructions in all/,
    ],
  ] as [string, unknown, (string | number)[], RegExp][])("%s", (_name, selector, path, message) => {
    const { problems, compiled } = checkSelector(selector);
    expect(compiled).toBeUndefined();
    expect(problems).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  test("every problem of a selector is reported at once", () => {
    const { problems } = checkSelector({ team: ["payments", "^(fin|pay$"], env: "^(?=x)$", "bad key": 1 });
    expect(problems.map((p) => p.path)).toEqual([["team", 1], ["env"], ["bad key"], ["bad key"]]);
  });

  test("more values than a selector may hold is one problem, and nothing is compiled", () => {
    const { problems } = checkSelector({ env: Array.from({ length: 1001 }, (_, i) => `^v${i}$`) });
    expect(problems).toEqual([{ path: [], message: "has 1001 values; a selector may have at most 1000" }]);
  });

  test("compileSelector throws naming the first problem", () => {
    expect(() => compileSelector({ team: ["payments", "^(fin|pay$"] })).toThrow(
      /team\[1\]: invalid regular expression/,
    );
  });
});

describe("selector warnings", () => {
  test.each([
    ["^staging|prod$", true],
    ["^a|b|c$", true],
    ["^(staging|prod)$", false],
    ["^a\\|b$", false],
    ["^[|]$", false],
  ])("%s → warns %p", (value, warns) => {
    const { warnings, compiled } = checkSelector({ env: [value] });
    expect(compiled).toBeDefined();
    expect(warnings.length > 0).toBe(warns);
    if (warns) expect(warnings[0]!.message).toMatch(/\| outside a group.*write "\^\(/);
  });

  // Regex syntax outside ^…$ is a literal (or a * glob) that matches almost nothing: valid, said.
  test.each([
    ["(?i)^payments$", "literal", "^(?i)payments$"],
    ["^Payments", "literal", "^Payments$"],
    ["payments$", "literal", "^payments$"],
    ["staging|prod", "literal", "^(staging|prod)$"],
    ["^(payments|billing)", "literal", "^(payments|billing)$"],
    ["pay.*", "glob", "^pay.*$"],
    ["Payments ", "whitespace", "Payments"],
    [" ^payments$", "whitespace", "^payments$"],
  ])("%s → a %s warning suggesting %s, and it matches only itself", (value, kind, suggested) => {
    const { warnings, compiled } = checkSelector({ team: value });
    expect(
      warnings.map((w) => [w.path, w.message.includes(kind), w.message.includes(JSON.stringify(suggested))]),
    ).toEqual([[["team"], true, true]]);
    expect(compiled!.matches({ team: "payments" })).toBe(false);
  });

  test.each(["prod-*", "v1.2", "team.payments", "c++", "*", "^(?i)prod$", "/payments/"])(
    "%s → no warning",
    (value) => {
      expect(checkSelector({ team: value }).warnings).toEqual([]);
    },
  );
});

describe("RE2 runs in linear time", () => {
  // ^(a+)+$ on "aaaa…b" takes exponential time in a backtracking engine. Bun's RegExp gives up after
  // about a second of backtracking and answers "no match" — so `^((a+)+b|.*c)$` did not match a
  // 40-character "aaa…c" that its second branch matches (a deny rule silently skipped), at a second
  // of CPU per request. A child process, so a regression fails at the deadline instead of hanging.
  test("catastrophic-backtracking patterns on 100,000-character values complete with the right answer", async () => {
    const script = `
        import { compileSelector } from ${JSON.stringify(`${import.meta.dir}/labels.ts`)};
        const nested = compileSelector({ env: "^(a+)+$" });
        const fallback = compileSelector({ env: "^((a+)+b|.*c)$" });
        const long = "a".repeat(100_000);
        console.log(
          nested.matches({ env: long + "b" }),
          nested.matches({ env: long }),
          fallback.matches({ env: "a".repeat(40) + "c" }),
          fallback.matches({ env: long + "c" }),
        );
      `;
    const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    // Generous: the matches take milliseconds; the bound only stops a backtracking engine.
    const timer = setTimeout(() => child.kill(), 60_000);
    const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    clearTimeout(timer);
    expect(code).toBe(0);
    expect(out.trim()).toBe("false true true true");
  }, 90_000);
});

describe("keys that every JS object has are ordinary label keys", () => {
  test.each(["constructor", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf"])(
    "{%s: '*'} matches only a cluster that has the label; a regex on it never throws",
    (key) => {
      expect(matches({ [key]: "*" }, {})).toBe(false);
      expect(matches({ [key]: "*" }, { env: "prod" })).toBe(false);
      expect(matches({ [key]: "^.*$" }, {})).toBe(false);
      expect(matches({ [key]: "^function.*" }, {})).toBe(false);
      expect(matches({ [key]: "*" }, { [key]: "x" })).toBe(true);
    },
  );
});
