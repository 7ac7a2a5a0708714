import { expect, test } from "bun:test";
import { unauthenticated } from "../lib/errors.ts";
import { cachingAuthenticator } from "./auth-cache.ts";
import type { Identity } from "./identity.ts";

test("reuses a verified token for ttl, never past its expiry, and never caches refusals", async () => {
  let now = 1_000_000;
  let calls = 0;
  let valid = true;
  const id = (exp?: number): Identity => ({
    user: "a",
    roles: [],
    source: "kubeport",
    issuer: "i",
    ...(exp ? { expiresAt: exp } : {}),
  });
  const a = cachingAuthenticator(
    {
      async authenticate(h) {
        calls++;
        if (!valid) throw unauthenticated("no");
        return h === "Bearer short" ? id(now + 300) : id();
      },
    },
    { ttlMs: 1000, clock: { now: () => now } },
  );
  await a.authenticate("Bearer t");
  await a.authenticate("Bearer t");
  expect(calls).toBe(1);
  now += 1001;
  await a.authenticate("Bearer t");
  expect(calls).toBe(2);
  await a.authenticate("Bearer short");
  now += 301;
  valid = false;
  await expect(a.authenticate("Bearer short")).rejects.toThrow("no");
  await expect(a.authenticate("Bearer short")).rejects.toThrow("no");
  expect(calls).toBe(5);
});

test("clear() forgets verified tokens at once", async () => {
  let calls = 0;
  const a = cachingAuthenticator({
    async authenticate() {
      calls++;
      return { user: "a", roles: [], source: "kubeport", issuer: "i" };
    },
  });
  await a.authenticate("Bearer t");
  await a.authenticate("Bearer t");
  a.clear();
  await a.authenticate("Bearer t");
  expect(calls).toBe(2);
});

test("verified() answers without waiting only for a token verified within ttl, and after clear() no more", async () => {
  let now = 1_000_000;
  let valid = true;
  const a = cachingAuthenticator(
    {
      async authenticate() {
        if (!valid) throw unauthenticated("no");
        return { user: "a", roles: [], source: "kubeport", issuer: "i" };
      },
    },
    { ttlMs: 1000, clock: { now: () => now } },
  );
  expect(a.verified?.("Bearer t")).toBeUndefined();
  const pending = a.authenticate("Bearer t");
  expect(a.verified?.("Bearer t")).toBeUndefined(); // still being checked
  const id = await pending;
  expect(a.verified?.("Bearer t")).toBe(id);
  expect(a.verified?.(undefined)).toBeUndefined();
  now += 1001;
  expect(a.verified?.("Bearer t")).toBeUndefined();
  await a.authenticate("Bearer t");
  a.clear();
  expect(a.verified?.("Bearer t")).toBeUndefined();
  valid = false;
  await expect(a.authenticate("Bearer bad")).rejects.toThrow("no");
  expect(a.verified?.("Bearer bad")).toBeUndefined();
});
