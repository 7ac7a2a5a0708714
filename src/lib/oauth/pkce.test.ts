// PKCE S256 against RFC 7636's own example, and the shape of the values kubeport generates.
import { expect, test } from "bun:test";
import { challengeOf, newState, newVerifier } from "./pkce.ts";

test("S256 of RFC 7636 Appendix B's verifier is its challenge", () => {
  expect(challengeOf("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe(
    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
  );
});

test("verifiers are 43 unreserved characters (§4.1), fresh each time; states unguessable", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const v = newVerifier();
    expect(v).toMatch(/^[A-Za-z0-9._~-]{43}$/);
    seen.add(v);
  }
  expect(seen.size).toBe(100);
  expect(newState()).toMatch(/^[A-Za-z0-9_-]{32}$/);
  expect(newState()).not.toBe(newState());
});
