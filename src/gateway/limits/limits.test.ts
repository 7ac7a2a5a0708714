import { describe, expect, test } from "bun:test";
import { addressKey } from "./client-address.ts";
import { createStreamCounter } from "./streams.ts";
import { createTokenBuckets } from "./token-bucket.ts";
import { createWsBudget, PRESSURE_SHARE } from "./ws-budget.ts";

const clockAt = (t = 0) => ({
  t,
  now() {
    return this.t;
  },
});

describe("token buckets", () => {
  test("burst at once, then one token per period/average, per key", () => {
    const clock = clockAt();
    const b = createTokenBuckets({ average: 2, burst: 3, period: 1000 }, { clock });
    expect([b.take("a"), b.take("a"), b.take("a")]).toEqual([0, 0, 0]);
    expect(b.take("a")).toBe(500);
    expect(b.take("b")).toBe(0);
    clock.t = 499;
    expect(b.take("a")).toBe(1);
    clock.t = 500;
    expect(b.take("a")).toBe(0);
    clock.t = 100_000;
    expect(b.wait("a")).toBe(0);
  });

  test("charge goes into debt (at most one burst) and wait says how long", () => {
    const clock = clockAt();
    const b = createTokenBuckets({ average: 1, burst: 2, period: 1000 }, { clock });
    for (let i = 0; i < 10; i++) b.charge("x");
    expect(b.wait("x")).toBe(3000);
    expect(b.wait("never-seen")).toBe(0);
  });

  test("holds at most maxKeys buckets, dropping full ones first", () => {
    const clock = clockAt();
    const b = createTokenBuckets({ average: 1, burst: 1, period: 1000 }, { clock, maxKeys: 3 });
    for (const k of ["a", "b", "c", "d", "e"]) b.take(k);
    expect(b.size()).toBeLessThanOrEqual(3);
    clock.t = 10_000;
    b.take("f");
    expect(b.size()).toBe(1);
  });
});

describe("addressKey", () => {
  test.each([
    ["10.1.2.3", "10.1.2.3"],
    ["::ffff:10.1.2.3", "10.1.2.3"],
    ["2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"],
    ["2001:db8:1:2::9", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002::", "2001:db8:1:2::/64"],
    ["::1", "0:0:0:0::/64"],
    // As audit records a peer: without the port.
    ["10.1.2.3:5000", "10.1.2.3"],
    ["[2001:db8:1:2::9]:5000", "2001:db8:1:2::/64"],
    ["[::ffff:10.1.2.3]:5000", "10.1.2.3"],
    [undefined, "unknown"],
  ])("%s → %s", (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});

describe("stream counter", () => {
  test("refuses past max, a release frees one slot once however often it is called", () => {
    const s = createStreamCounter(2);
    const r1 = s.acquire("u")!;
    expect(s.acquire("u")).toBeDefined();
    expect(s.acquire("u")).toBeUndefined();
    expect(s.acquire("v")).toBeDefined();
    r1();
    r1();
    expect(s.open("u")).toBe(1);
    expect(s.acquire("u")).toBeDefined();
    expect(s.acquire("u")).toBeUndefined();
  });

  test("0 means no limit", () => {
    const s = createStreamCounter(0);
    for (let i = 0; i < 1000; i++) expect(s.acquire("u")).toBeDefined();
  });
});

describe("WebSocket budget", () => {
  test("a session over its cap pauses; under pressure every session gets only a small share", () => {
    const budget = createWsBudget({
      maxMessageBytes: 1000,
      perSession: 4 * PRESSURE_SHARE,
      total: 8 * PRESSURE_SHARE,
    });
    const a = budget.open();
    const b = budget.open();
    expect(a.update(4 * PRESSURE_SHARE)).toBe(false);
    expect(a.update(4 * PRESSURE_SHARE + 1)).toBe(true);
    expect(b.update(4 * PRESSURE_SHARE)).toBe(true); // total over 8 shares: b may hold one share now
    expect(b.relieved()).toBe(false);
    a.close();
    expect(budget.total()).toBe(4 * PRESSURE_SHARE);
    expect(b.update(2 * PRESSURE_SHARE)).toBe(false);
    expect(b.relieved()).toBe(true);
    b.close();
    expect(budget.total()).toBe(0);
  });
});
