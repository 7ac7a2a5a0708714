import { expect, test } from "bun:test";
import { createFilterBudget } from "./filter-budget.ts";

test("a declared length that does not fit beside running lists is refused; alone it is admitted", () => {
  const b = createFilterBudget(100);
  const big = b.open();
  expect(big.reserve(500)).toBe(true); // alone: one list is always served
  expect(b.full()).toBe(true);
  const next = b.open();
  expect(next.reserve(10)).toBe(false);
  next.close();
  big.close();
  expect(b.total()).toBe(0);
  const a = b.open();
  expect(a.reserve(60)).toBe(true);
  const c = b.open();
  expect(c.reserve(50)).toBe(false);
  expect(c.reserve(40)).toBe(true);
  expect(b.total()).toBe(100);
});

test("bytes read count beyond the reservation; close gives them back once", () => {
  const b = createFilterBudget(100);
  const a = b.open();
  a.reserve(30);
  a.add(20); // within the 30 reserved
  expect(b.total()).toBe(30);
  a.add(20);
  expect(b.total()).toBe(40);
  a.close();
  a.close();
  expect(b.total()).toBe(0);
});

test("over the budget only the oldest list reads on; the others wait until bytes are given back", async () => {
  const b = createFilterBudget(100);
  const first = b.open();
  const second = b.open();
  first.add(80);
  second.add(40);
  expect(b.full()).toBe(true);
  let secondReady = false;
  void second.ready().then(() => {
    secondReady = true;
  });
  await first.ready(); // the oldest never waits
  await Bun.sleep(0);
  expect(secondReady).toBe(false);
  first.close();
  await Bun.sleep(0);
  expect(secondReady).toBe(true);
  second.close();
});
