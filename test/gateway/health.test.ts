// The gateway's health checks say who they are: `User-Agent: kubeport-health/<version>` on each
// request, so the API server's audit log (and the test fixtures) tell them from proxied requests.
import { afterAll, beforeAll, expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import { checkCluster, HEALTH_CHECK_USER_AGENT, staticCredentials } from "../../src/gateway/index.ts";
import { cluster, startUpstream, type Upstream } from "./fixture.ts";

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(async () => {
  await up?.close();
});

test("each health check request carries kubeport-health/<version> and is not counted as proxied", async () => {
  expect(HEALTH_CHECK_USER_AGENT).toBe(`kubeport-health/${pkg.version}`);
  const health = await checkCluster(cluster("c", up.url, up.caPem), staticCredentials("upstream-secret"));
  expect(health.version).toBe("v1.32.4");
  expect(up.requests.map((r) => [r.method, r.target, r.headers.get("user-agent")])).toEqual([
    ["GET", "/version", `kubeport-health/${pkg.version}`],
    ["POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", `kubeport-health/${pkg.version}`],
  ]);
  expect(up.proxied()).toEqual([]);
});
