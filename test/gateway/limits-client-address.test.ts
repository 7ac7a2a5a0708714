// The per-address rate limit charges the client address audit records (issue 11's
// proxy_service.trusted_proxies): behind a trusted proxy, each client has its own budget — one
// client spending its budget does not refuse everyone behind the same load balancer — and an
// untrusted peer's X-Forwarded-For changes nothing (anyone can send one).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cluster, startTestGateway, startUpstream, type TestGateway, type Upstream } from "./fixture.ts";

let up: Upstream;
/** 127.0.0.0/8 (the test's own address) is a trusted proxy. */
let behindProxy: TestGateway;
/** Only 10.0.0.0/8 is trusted: the test's requests come from an untrusted peer. */
let untrusted: TestGateway;

const LIMITS = "  limits:\n    unauthenticated_rate: { average: 1, period: 1h, burst: 3 }\n";

beforeAll(async () => {
  up = await startUpstream();
  const clusters = [cluster("dev1", up.url, up.caPem, { env: "dev" })];
  behindProxy = await startTestGateway({
    clusters,
    proxyYaml: `  trusted_proxies: ["127.0.0.0/8"]\n${LIMITS}`,
  });
  untrusted = await startTestGateway({
    clusters,
    proxyYaml: `  trusted_proxies: ["10.0.0.0/8"]\n${LIMITS}`,
  });
});
afterAll(async () => {
  await behindProxy?.close();
  await untrusted?.close();
  await up?.close();
});

/** A request with a forged token, as forwarded with `xff` (none: sent directly). */
const forged = (gw: TestGateway, xff?: string) =>
  gw.fetch("/v1/clusters/dev1/api/v1/pods", {
    token: `forged-${crypto.randomUUID()}`,
    ...(xff ? { headers: { "x-forwarded-for": xff } } : {}),
  });

const statuses = async (n: number, send: () => Promise<Response>) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send()).status);
  return out;
};

/** The address audit recorded for the newest refusal with this status. */
const auditedAddress = (gw: TestGateway, status: number) =>
  gw.audit.requests.filter((e) => e.response_code === status).at(-1)?.["addr.remote"];

describe("behind a trusted proxy", () => {
  test("each forwarded client is limited by its own address, and audit names the same one", async () => {
    const before = up.proxied().length;
    // Client A spends its budget of 3 and is refused.
    expect(await statuses(3, () => forged(behindProxy, "198.51.100.7"))).toEqual([401, 401, 401]);
    expect((await forged(behindProxy, "198.51.100.7")).status).toBe(429);
    expect(auditedAddress(behindProxy, 429)).toBe("198.51.100.7");
    // A forged entry to the left of the proxy's own does not make A someone else.
    expect((await forged(behindProxy, "203.0.113.99, 198.51.100.7")).status).toBe(429);
    // Public paths charge the same client.
    expect(
      (await behindProxy.fetch("/.well-known/jwks.json", { headers: { "x-forwarded-for": "198.51.100.7" } }))
        .status,
    ).toBe(429);
    // Client B behind the same proxy, and the proxy's own requests, still have theirs.
    expect(await statuses(3, () => forged(behindProxy, "198.51.100.8"))).toEqual([401, 401, 401]);
    expect(auditedAddress(behindProxy, 401)).toBe("198.51.100.8");
    expect((await forged(behindProxy)).status).toBe(401);
    expect(
      (await behindProxy.fetch("/.well-known/jwks.json", { headers: { "x-forwarded-for": "198.51.100.9" } }))
        .status,
    ).toBe(200);
    // IPv6 clients by their /64.
    expect(await statuses(3, () => forged(behindProxy, "2001:db8:1:2::1"))).toEqual([401, 401, 401]);
    expect((await forged(behindProxy, "2001:db8:1:2::2")).status).toBe(429);
    expect((await forged(behindProxy, "2001:db8:1:3::1")).status).toBe(401);
    expect(up.proxied().length).toBe(before);
  });
});

describe("an untrusted peer", () => {
  test("its X-Forwarded-For is ignored: every request is charged to the peer, whatever it claims", async () => {
    expect(await statuses(3, () => forged(untrusted, "198.51.100.7"))).toEqual([401, 401, 401]);
    // Claiming to be someone else does not buy a new budget.
    expect((await forged(untrusted, "198.51.100.8")).status).toBe(429);
    expect((await forged(untrusted, `198.51.100.${Math.floor(Math.random() * 200) + 10}`)).status).toBe(429);
    expect(
      (await untrusted.fetch("/.well-known/jwks.json", { headers: { "x-forwarded-for": "198.51.100.9" } }))
        .status,
    ).toBe(429);
    // Audit records the peer (with its port), not the claim.
    expect(auditedAddress(untrusted, 429)).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});
