import { describe, expect, test } from "bun:test";
import { age, formatLabels, parseFormat, renderData, renderTable } from "./output.ts";

describe("output", () => {
  test("renderTable aligns columns under a dashed rule", () => {
    expect(
      renderTable(
        ["NAME", "LABELS"],
        [
          ["a", "x=1"],
          ["longer", ""],
        ],
      ),
    ).toBe("NAME   LABELS\n------ ------\na      x=1\nlonger\n");
  });

  test("renderTable with no rows prints the header", () => {
    expect(renderTable(["ID", "HOST"], [])).toBe("ID HOST\n-- ----\n");
  });

  test.each<[string | undefined, number, string]>([
    [undefined, 0, "-"],
    ["not a date", 0, "-"],
    ["2026-01-01T00:00:00Z", 5_000, "5s"],
    ["2026-01-01T00:00:00Z", 120_000, "2m"],
    ["2026-01-01T00:00:00Z", 3 * 3_600_000, "3h"],
    ["2026-01-01T00:00:00Z", 2 * 86_400_000 + 5, "2d"],
  ])("age(%p) after %pms = %s", (iso, after, want) => {
    expect(age(iso, Date.parse("2026-01-01T00:00:00Z") + after)).toBe(want);
  });

  test("formatLabels sorts by key", () => {
    expect(formatLabels({ b: "2", a: "1" })).toBe("a=1,b=2");
    expect(formatLabels(undefined)).toBe("");
  });

  test.each([
    [undefined, "text"],
    ["JSON", "json"],
    ["yaml", "yaml"],
  ])("parseFormat(%p)", (v, want) => {
    expect(parseFormat(v)).toBe(want as "text");
  });

  test("parseFormat rejects other formats", () => {
    expect(() => parseFormat("xml")).toThrow('--format: "xml" is not one of: text, yaml, json');
  });

  test("renderData writes JSON, YAML, and YAML documents", () => {
    expect(renderData("json", { a: 1 })).toBe('{\n  "a": 1\n}\n');
    expect(renderData("yaml", { a: 1 })).toBe("a: 1\n");
    expect(renderData("yaml", [{ a: 1 }, { b: 2 }], { documents: true })).toBe("a: 1\n---\nb: 2\n");
  });
});
