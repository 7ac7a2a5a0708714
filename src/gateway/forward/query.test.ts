import { expect, test } from "bun:test";
import { credentialParams, withoutCredentialParams } from "./query.ts";

test.each([
  ["", ""],
  ["?", "?"],
  ["?limit=500", "?limit=500"],
  ["?access_token=x", ""],
  ["?limit=1&access_token=x&labelSelector=a%3Db", "?limit=1&labelSelector=a%3Db"],
  ["?access%5Ftoken=x&watch=1", "?watch=1"],
  ["?Access_Token=x&id_token=y&ID_TOKEN&watch=1", "?watch=1"],
  [
    "?command=sh&command=-c&command=echo+access_token%3Dx",
    "?command=sh&command=-c&command=echo+access_token%3Dx",
  ],
  ["?my_access_token=x", "?my_access_token=x"],
])("%s → %s", (search, want) => {
  expect(withoutCredentialParams(search)).toBe(want);
});

test("names the credential parameters a query carries", () => {
  expect(credentialParams("?limit=1&access_token=x&id%5Ftoken=y")).toEqual(["access_token", "id_token"]);
  expect(credentialParams("?limit=1")).toEqual([]);
});

test("a parameter name that is not valid percent-encoding is refused, not passed on", () => {
  expect(() => withoutCredentialParams("?access%5_token=x")).toThrow(/invalid percent-encoding/);
});
