// Request rates and open streams through the real gateway, with small configured limits and a
// rate so slow (1 an hour) that the counts are exact: 429 with Retry-After and a Kubernetes Status,
// counted in metrics, and nothing refused reaches the cluster.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { until } from "../helpers/ws-attack.ts";
import { cluster, startTestGateway, startUpstream, type TestGateway, type Upstream } from "./fixture.ts";

let up: Upstream;
/** unauthenticated_rate burst 5. */
let byAddress: TestGateway;
/** user_rate burst 3. */
let byUser: TestGateway;
/** max_kubernetes_connections 2. */
let byStreams: TestGateway;

const SLOW = "average: 1, period: 1h";

beforeAll(async () => {
  up = await startUpstream();
  const clusters = [cluster("dev1", up.url, up.caPem, { env: "dev" })];
  byAddress = await startTestGateway({
    clusters,
    proxyYaml: `  limits:\n    unauthenticated_rate: { ${SLOW}, burst: 5 }\n`,
  });
  byUser = await startTestGateway({
    clusters,
    proxyYaml: `  limits:\n    user_rate: { ${SLOW}, burst: 3 }\n`,
  });
  byStreams = await startTestGateway({
    clusters,
    proxyYaml: "  limits:\n    max_kubernetes_connections: 2\n",
  });
});
afterAll(async () => {
  await byAddress?.close();
  await byUser?.close();
  await byStreams?.close();
  await up?.close();
});

/** Requests proxied upstream (three gateways here share it, each with its own timed health checks). */
const upstreamRequests = () => up.proxied().length;

async function expect429(res: Response, limitKey: string) {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  const body = (await res.json()) as {
    kind: string;
    reason: string;
    code: number;
    message: string;
    details: unknown;
  };
  expect(body).toMatchObject({ kind: "Status", reason: "TooManyRequests", code: 429 });
  expect(body.details).toEqual({ retryAfterSeconds: retryAfter });
  expect(body.message).toContain(`proxy_service.limits.${limitKey}`);
  return retryAfter;
}

describe("per client address, before authentication", () => {
  test("5 refused tokens are 401s, every later request from the address is a 429 that costs nothing upstream", async () => {
    const before = upstreamRequests();
    const codes: number[] = [];
    for (let i = 0; i < 5; i++)
      codes.push((await byAddress.fetch("/v1/clusters/dev1/api/v1/pods", { token: `forged-${i}` })).status);
    expect(codes).toEqual([401, 401, 401, 401, 401]);
    for (let i = 0; i < 5; i++) {
      const res = await byAddress.fetch("/v1/clusters/dev1/api/v1/pods", { token: `forged-more-${i}` });
      // ~1 token an hour: the next one is about an hour away.
      expect(await expect429(res, "unauthenticated_rate")).toBeGreaterThan(3000);
    }
    // A token that was never verified is refused too while the address is over its budget.
    await expect429(
      await byAddress.fetch("/v1/clusters/dev1/api/v1/pods", { token: "alice-token" }),
      "unauthenticated_rate",
    );
    // Public paths cost the address as well; load balancer probes never do.
    await expect429(await byAddress.fetch("/.well-known/jwks.json"), "unauthenticated_rate");
    expect((await byAddress.fetch("/healthz")).status).toBe(200);
    expect((await byAddress.fetch("/readyz")).status).toBe(200);
    expect(upstreamRequests()).toBe(before);
    expect(await byAddress.metric("kubeport_gateway_limited_total", { limit: "address_rate" })).toBe(7);
    expect(await byAddress.metric("kubeport_gateway_auth_failures_total")).toBe(5);
  });
});

describe("per user, after authentication", () => {
  test("3 requests pass, the 4th is a 429 that does not reach the cluster; another user is not affected", async () => {
    const before = upstreamRequests();
    const codes: number[] = [];
    for (let i = 0; i < 3; i++)
      codes.push((await byUser.fetch("/v1/clusters/dev1/version", { token: "alice-token" })).status);
    expect(codes).toEqual([200, 200, 200]);
    const retry = await expect429(
      await byUser.fetch("/v1/clusters/dev1/version", { token: "alice-token" }),
      "user_rate",
    );
    expect(retry).toBeGreaterThan(3000);
    expect(upstreamRequests()).toBe(before + 3);
    expect((await byUser.fetch("/v1/clusters/dev1/version", { token: "root-token" })).status).toBe(200);
    expect(await byUser.metric("kubeport_gateway_limited_total", { limit: "user_rate" })).toBe(1);
    // The refusal is audited as the user's.
    expect(byUser.audit.requests.find((e) => e.response_code === 429)).toMatchObject({
      user: "alice",
      reason: "user_rate",
    });
  });
});

describe("open streams per user (max_kubernetes_connections)", () => {
  const WATCH = "/v1/clusters/dev1/api/v1/namespaces/default/pods?watch=true";
  /** Opens a watch as root; resolves once it answers. */
  async function openWatch(signal: AbortSignal): Promise<Response> {
    const watchesStarted = () => up.requests.filter((r) => r.target.includes("watch=true")).length;
    const before = watchesStarted();
    const pending = byStreams.fetch(WATCH, { token: "root-token", signal });
    // A refusal answers at once; an accepted watch answers with its first event.
    const settled = await Promise.race([
      pending.then(() => true),
      until(() => watchesStarted() > before, 20_000).then(() => false),
    ]);
    if (!settled) up.emit(JSON.stringify({ type: "ADDED", object: { metadata: { name: "p" } } }));
    return pending;
  }

  test("a third stream is refused with 429 while two are open; ending one frees its slot", async () => {
    const a = new AbortController();
    const b = new AbortController();
    const c = new AbortController();
    try {
      expect((await openWatch(a.signal)).status).toBe(200);
      expect((await openWatch(b.signal)).status).toBe(200);
      const watchesUp = up.openWatches();
      await expect429(await openWatch(c.signal), "max_kubernetes_connections");
      // An exec is a stream too: refused before anything is opened upstream.
      const execs = up.requests.filter((r) => r.target.includes("/exec")).length;
      const exec = await byStreams.fetch(
        "/v1/clusters/dev1/api/v1/namespaces/default/pods/web-0/exec?command=sh",
        {
          token: "root-token",
          headers: {
            Connection: "Upgrade",
            Upgrade: "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Protocol": "v5.channel.k8s.io",
          },
        },
      );
      await expect429(exec, "max_kubernetes_connections");
      expect(up.requests.filter((r) => r.target.includes("/exec")).length).toBe(execs);
      expect(up.openWatches()).toBe(watchesUp);
      // Plain requests are not streams.
      expect((await byStreams.fetch("/v1/clusters/dev1/version", { token: "root-token" })).status).toBe(200);

      a.abort();
      let status = 0;
      expect(
        await until(async () => {
          const d = new AbortController();
          const res = await openWatch(d.signal);
          status = res.status;
          if (status === 200) c.signal.addEventListener("abort", () => d.abort());
          else await res.body?.cancel();
          return status === 200;
        }, 20_000),
      ).toBe(true);
      expect(
        await byStreams.metric("kubeport_gateway_limited_total", { limit: "streams" }),
      ).toBeGreaterThanOrEqual(2);
    } finally {
      a.abort();
      b.abort();
      c.abort();
    }
  }, 60_000);
});
