import { expect, test } from "bun:test";
import { members, repeatedMember } from "./json-members.ts";

const b = (s: string) => new TextEncoder().encode(s);

test("members keep repeats, in order, keys decoded as Go decodes them", () => {
  expect(members(b('{"a":1, "\\u0061" : {"x":2}}'), 0)?.map((m) => m.key)).toEqual(["a", "a"]);
  expect(members(b("[1]"), 0)).toBeUndefined();
});

test("repeatedMember names the first repeat at any depth of nested objects", () => {
  expect(repeatedMember(b('{"spec":{"resourceAttributes":{"name":"x"}}}'))).toBeUndefined();
  expect(repeatedMember(b('{"spec":{},"spec":{}}'))).toBe("spec");
  expect(repeatedMember(b('{"spec":{"resourceAttributes":{},"resourceAttributes":{}}}'))).toBe(
    "spec.resourceAttributes",
  );
  expect(repeatedMember(b('{"spec":{"resourceAttributes":{"name":"a","n\\u0061me":"b"}}}'))).toBe(
    "spec.resourceAttributes.name",
  );
});
