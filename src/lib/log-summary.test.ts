import { expect, test } from "bun:test";
import pino from "pino";
import { createLogSummary } from "./log-summary.ts";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

test("one line per key at once, then one count per interval while it repeats", () => {
  const { log, lines } = capture();
  const s = createLogSummary({ log, intervalMs: 60_000 });
  for (let i = 0; i < 5000; i++) s.log("warn", "bad alg", { reason: "algorithm" }, "token refused");
  s.log("warn", "expired", { reason: "expired" }, "token refused");
  expect(lines.map((l) => l.reason)).toEqual(["algorithm", "expired"]);
  s.flush();
  expect(lines.at(-1)).toMatchObject({ reason: "algorithm", repeated: 4999, interval_s: 60 });
  // Still flooding: counted from the first call of the next interval on.
  for (let i = 0; i < 10; i++) s.log("warn", "bad alg", { reason: "algorithm" }, "token refused");
  s.flush();
  expect(lines).toHaveLength(4);
  expect(lines.at(-1)).toMatchObject({ repeated: 10 });
  s.close();
});

test("below the logger's level nothing is kept; keys beyond maxKeys share one bucket", () => {
  const { log, lines } = capture();
  const s = createLogSummary({ log, intervalMs: 60_000, maxKeys: 2 });
  s.log("debug", "d", {}, "hidden");
  for (let i = 0; i < 10; i++) s.log("info", `k${i}`, { i }, "distinct");
  s.close();
  expect(lines.filter((l) => l.msg === "hidden")).toEqual([]);
  expect(lines.length).toBeLessThanOrEqual(4);
  expect(lines.at(-1)).toMatchObject({ repeated: 7 });
});
