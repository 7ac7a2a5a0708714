import { expect, test } from "bun:test";
import { createConnectionCounter } from "./connections.ts";

const clockAt = (t: { now: number }) => ({ now: () => t.now });

test("an address at its cap: a further connection closes after its answer, counted ones go on", () => {
  const c = createConnectionCounter({ max: 2, idleMs: 1000 });
  expect(c.request("10.0.0.1", 1001)).toBe(false);
  expect(c.request("10.0.0.1", 1002)).toBe(false);
  expect(c.request("10.0.0.1", 1003)).toBe(true);
  // The two counted connections keep going; another address has its own count.
  expect(c.request("10.0.0.1", 1001)).toBe(false);
  expect(c.request("10.0.0.2", 1003)).toBe(false);
  expect(c.open("10.0.0.1")).toBe(2);
});

test("a connection idle past the listener's idle timeout is gone (Bun closed it): its place is free", () => {
  const t = { now: 0 };
  const c = createConnectionCounter({ max: 1, idleMs: 1000, clock: clockAt(t) });
  expect(c.request("10.0.0.1", 1)).toBe(false);
  t.now = 900;
  expect(c.request("10.0.0.1", 2)).toBe(true);
  expect(c.request("10.0.0.1", 1)).toBe(false); // used again: still alive
  t.now = 1950;
  expect(c.request("10.0.0.1", 2)).toBe(false);
  // Addresses gone quiet are forgotten.
  t.now = 5000;
  c.request("10.0.0.9", 1);
  expect(c.open("10.0.0.1")).toBe(0);
});

test("IPv6 addresses of one /64 share a count; trusted proxies and max 0 are not limited", () => {
  const c = createConnectionCounter({ max: 1, idleMs: 1000, exempt: (a) => a === "10.1.1.1" });
  expect(c.request("2001:db8:1:2::1", 1)).toBe(false);
  expect(c.request("2001:db8:1:2::ffff", 2)).toBe(true);
  for (let p = 0; p < 5; p++) expect(c.request("10.1.1.1", p)).toBe(false);
  const off = createConnectionCounter({ max: 0, idleMs: 1000 });
  for (let p = 0; p < 5; p++) expect(off.request("10.0.0.1", p)).toBe(false);
});
