// Cross-account reach, end to end: discovery finds a cluster in a second account only reachable
// through AssumeRole with an external id; real kubectl goes through the gateway to a cluster in each
// account; the simulated API server checks the token's identity is the one its access entry names.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { parseConfig } from "../../src/config/index.ts";
import { createDiscoveryService } from "../../src/discovery/index.ts";
import { eksCredentials } from "../../src/gateway/index.ts";
import { silentLogger } from "../../src/lib/log.ts";
import type { KubeCluster } from "../../src/registry/index.ts";
import { DEFAULT_PRINCIPAL, type KubeSim, type Simulation, startSimulation } from "../../src/sim/index.ts";
import { type KubectlEnv, kubectl, kubectlEnv } from "../helpers/kubectl.ts";
import { startTestGateway, type TestGateway } from "./fixture.ts";

const HOME = "111111111111";
const FAR = "222222222222";
const ROLE = `arn:aws:iam::${FAR}:role/kubeport-discovery`;
let sim: Simulation;
let gw: TestGateway;
const envs: KubectlEnv[] = [];
const saved = { ...process.env };
let home: KubeSim;
let far: KubeSim;

beforeAll(async () => {
  sim = await startSimulation({
    clusters: [
      { name: "home", region: "us-east-1", tags: { env: "prod" }, creatorAdmin: false },
      { name: "far", region: "eu-west-1", account: FAR, tags: { env: "prod" }, creatorAdmin: false },
    ],
    aws: {
      accounts: [
        { id: HOME, principals: [DEFAULT_PRINCIPAL] },
        // Reachable only through the role, and only with the right external id.
        { id: FAR, roles: [{ arn: ROLE, externalId: "ext-42", trusted: [DEFAULT_PRINCIPAL.arn] }] },
      ],
    },
  });
  Object.assign(process.env, sim.aws.env);
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  home = [...sim.kube.values()].find((k) => k.clusterName === "home")!;
  far = [...sim.kube.values()].find((k) => k.clusterName === "far")!;
  gw = await startTestGateway({ credentials: eksCredentials() });
  const config = parseConfig(
    JSON.stringify({
      version: "v1",
      kubeport: { data_dir: gw.dir },
      discovery_service: {
        enabled: true,
        aws: [
          { types: ["eks"], regions: ["us-east-1"], tags: { env: "prod" } },
          {
            types: ["eks"],
            regions: ["eu-west-1"],
            tags: { env: "prod" },
            assume_role_arn: ROLE,
            external_id: "ext-42",
          },
        ],
      },
    }),
    "test",
  );
  const discovery = createDiscoveryService({ config, backend: gw.backend, log: silentLogger, holder: "t" });
  const r = await discovery.pollOnce();
  await discovery.stop();
  expect(r.failedScopes).toEqual([]);
  expect(r.access.warnings).toEqual([]);
}, 60_000);

afterAll(async () => {
  for (const e of envs) e.cleanup();
  await gw?.close();
  await sim?.close();
  process.env = saved;
});

const run = async (cluster: string, args: string[]) => {
  const e = kubectlEnv({
    server: `${gw.gateway.url}/v1/clusters/${cluster}`,
    token: "root-token",
    caPem: gw.gateway.caPem!,
  });
  envs.push(e);
  return kubectl(e, args);
};

test("every kube_cluster records how it was found", async () => {
  const farRes = (await gw.backend.get("kube_cluster", "far")) as KubeCluster;
  expect(farRes.spec.aws).toMatchObject({ account_id: FAR, assume_role_arn: ROLE, external_id: "ext-42" });
  const homeRes = (await gw.backend.get("kube_cluster", "home")) as KubeCluster;
  expect(homeRes.spec.aws?.assume_role_arn).toBeUndefined();
});

test("kubectl through the gateway reaches a cluster in each account, the second as the assumed role", async () => {
  // Wait for the gateway's cache to serve both (it follows the registry's change feed).
  const until = Date.now() + 10_000;
  while ((await gw.fetch("/v1/clusters/far/version", { token: "root-token" })).status === 404) {
    if (Date.now() > until) throw new Error("far never served");
    await Bun.sleep(50);
  }
  const h = await run("home", ["get", "pods", "-o", "name"]);
  expect(h.stderr).toBe("");
  expect(h.stdout).toContain("pod/web-0");
  const f = await run("far", ["get", "pods", "-o", "name"]);
  expect(f.stderr).toBe("");
  expect(f.stdout).toContain("pod/web-0");

  const farList = far
    .requests()
    .filter((q) => q.path === "/api/v1/namespaces/default/pods")
    .at(-1)!;
  // The token's identity: a session of the role in the far account, not the gateway's own user.
  expect(farList.status).toBe(200);
  expect(farList.impersonatedBy).toMatch(new RegExp(`^arn:aws:sts::${FAR}:assumed-role/kubeport-discovery/`));
  const homeList = home
    .requests()
    .filter((q) => q.path === "/api/v1/namespaces/default/pods")
    .at(-1)!;
  expect(homeList.impersonatedBy).toBe(DEFAULT_PRINCIPAL.arn);
  expect(
    sim.aws.state.calls().some((c) => c.action === "sts:AssumeRole" && c.principal === DEFAULT_PRINCIPAL.arn),
  ).toBe(true);
}, 60_000);
