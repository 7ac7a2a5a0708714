import { expect, test } from "bun:test";
import { badParameter, describeError, unavailable } from "./errors.ts";

test.each([
  [
    "a chain of different messages is joined",
    unavailable("registry down", new Error("ECONNREFUSED")),
    "registry down: ECONNREFUSED",
  ],
  [
    "a wrapper that repeats its cause prints it once",
    unavailable("sqlite registry at /x: database is locked", new Error("database is locked")),
    "sqlite registry at /x: database is locked",
  ],
  [
    "a cause repeated two levels down is skipped, the rest kept",
    new Error("demo failed: a: b", { cause: badParameter("a", new Error("b")) }),
    "demo failed: a: b",
  ],
  ["a thrown string", "plain", "plain"],
  ["an empty message adds nothing", new Error("", { cause: new Error("why") }), "why"],
])("%s", (_, err, text) => {
  expect(describeError(err)).toBe(text);
});
