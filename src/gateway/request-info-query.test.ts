import { expect, test } from "bun:test";
import { parseQuery } from "./request-info-query.ts";

const read = (search: string) => {
  const q = parseQuery(search);
  return { params: [...q.params], search: q.search };
};

test("pairs Go's url.ParseQuery drops are dropped, from the reading and from what goes upstream", () => {
  expect(read("")).toEqual({ params: [], search: "" });
  expect(read("?")).toEqual({ params: [], search: "" });
  expect(read("?watch=1;")).toEqual({ params: [], search: "" });
  expect(read("?watch=1;&x=1")).toEqual({ params: [["x", "1"]], search: "?x=1" });
  expect(read("?watch=%zz&limit=500")).toEqual({ params: [["limit", "500"]], search: "?limit=500" });
  expect(read("?w%zztch=1&a=%4")).toEqual({ params: [], search: "" });
  expect(read("?&&a=1&")).toEqual({ params: [["a", "1"]], search: "?a=1" });
});

test("names and values are percent-decoded, + is a space; kept pairs go upstream as written", () => {
  expect(read("?w%61tch=1")).toEqual({ params: [["watch", "1"]], search: "?w%61tch=1" });
  expect(read("?labelSelector=app%3Dweb+x&watch")).toEqual({
    params: [
      ["labelSelector", "app=web x"],
      ["watch", ""],
    ],
    search: "?labelSelector=app%3Dweb+x&watch",
  });
  expect(read("?a=%E2%82%AC&b=€&c=%2B")).toEqual({
    params: [
      ["a", "€"],
      ["b", "€"],
      ["c", "+"],
    ],
    search: "?a=%E2%82%AC&b=€&c=%2B",
  });
  expect(read("?=x&k==v")).toEqual({
    params: [
      ["", "x"],
      ["k", "=v"],
    ],
    search: "?=x&k==v",
  });
});
