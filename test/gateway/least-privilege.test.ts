// least_privilege access, end to end: discovery grants itself cluster admin for a moment, binds the
// gateway's group to an impersonation-only ClusterRole over the Kubernetes API, takes the admin
// access back; the gateway's entry maps to its group only. The simulated API server enforces RBAC:
// the gateway's identity can impersonate and do nothing else, and kubectl through the gateway works.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { parseConfig } from "../../src/config/index.ts";
import { createDiscoveryService, type PollResult } from "../../src/discovery/index.ts";
import { eksCredentials } from "../../src/gateway/index.ts";
import { assumeRoleCredentials } from "../../src/lib/aws-credentials.ts";
import { makeEksToken } from "../../src/lib/eks-token.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { DEFAULT_PRINCIPAL, type KubeSim, type Simulation, startSimulation } from "../../src/sim/index.ts";
import { type KubectlEnv, kubectl, kubectlEnv } from "../helpers/kubectl.ts";
import { startTestGateway, type TestGateway } from "./fixture.ts";

const ACC = "111111111111";
const GATEWAY_ROLE = `arn:aws:iam::${ACC}:role/kubeport-gateway`;
const CLUSTER_ARN = `arn:aws:eks:us-east-1:${ACC}:cluster/lp`;
let sim: Simulation;
let kube: KubeSim;
let gw: TestGateway;
let first: PollResult;
let second: PollResult;
let calls: string[] = [];
const envs: KubectlEnv[] = [];
const saved = { ...process.env };
const base = async () => ({
  accessKeyId: DEFAULT_PRINCIPAL.accessKeyId,
  secretAccessKey: DEFAULT_PRINCIPAL.secretAccessKey,
});
const gatewayCreds = () =>
  assumeRoleCredentials({
    base,
    roleArn: GATEWAY_ROLE,
    sessionName: "gw",
    clientConfig: { region: "us-east-1" },
  });

beforeAll(async () => {
  sim = await startSimulation({
    clusters: [
      {
        name: "lp",
        region: "us-east-1",
        tags: { env: "prod" },
        authenticationMode: "API",
        creatorAdmin: false,
      },
    ],
    aws: { accounts: [{ id: ACC, principals: [DEFAULT_PRINCIPAL], roles: [{ arn: GATEWAY_ROLE }] }] },
  });
  Object.assign(process.env, sim.aws.env);
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  kube = [...sim.kube.values()][0]!;
  gw = await startTestGateway({ credentials: eksCredentials({ credentials: gatewayCreds() }) });
  const config = parseConfig(
    JSON.stringify({
      version: "v1",
      kubeport: { data_dir: gw.dir },
      discovery_service: {
        enabled: true,
        aws: [
          {
            types: ["eks"],
            regions: ["us-east-1"],
            tags: { env: "prod" },
            access_mode: "least_privilege",
            setup_access_for_arn: GATEWAY_ROLE,
          },
        ],
      },
    }),
    "test",
  );
  const discovery = createDiscoveryService({ config, backend: gw.backend, log: silentLogger, holder: "t" });
  first = await discovery.pollOnce();
  sim.aws.state.resetCalls();
  second = await discovery.pollOnce();
  calls = sim.aws.state.calls().map((c) => c.action);
  await discovery.stop();
}, 60_000);

afterAll(async () => {
  for (const e of envs) e.cleanup();
  await gw?.close();
  await sim?.close();
  process.env = saved;
});

test("the gateway's entry maps to its group only; the temporary admin access is gone", () => {
  expect(first.access.warnings).toEqual([]);
  expect(sim.aws.state.accessEntryFor(CLUSTER_ARN, GATEWAY_ROLE)).toMatchObject({
    kubernetesGroups: ["kubeport"],
    policies: [],
  });
  expect(sim.aws.state.accessEntryFor(CLUSTER_ARN, DEFAULT_PRINCIPAL.arn)).toBeUndefined();
  expect(kube.rbac.get("ClusterRole", "kubeport-impersonator")?.rules).toEqual([
    { apiGroups: [""], resources: ["users", "groups", "serviceaccounts"], verbs: ["impersonate"] },
  ]);
  expect(kube.rbac.get("ClusterRoleBinding", "kubeport-impersonator")?.subjects).toEqual([
    { kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "kubeport" },
  ]);
  // Right already: the next poll only reads.
  expect(second.access.warnings).toEqual([]);
  expect(calls.filter((a) => /^eks:(Create|Update|Associate|Disassociate|Delete|Tag)/.test(a))).toEqual([]);
});

test("the gateway's identity can only impersonate", async () => {
  const token = await makeEksToken({
    region: "us-east-1",
    clusterName: "lp",
    credentials: gatewayCreds(),
    stsEndpoint: sim.aws.url,
  });
  const get = (headers: Record<string, string> = {}) =>
    fetch(`${kube.endpoint}/api/v1/namespaces/default/pods`, {
      headers: { authorization: `Bearer ${token}`, ...headers },
      tls: { ca: kube.caPem },
    } as RequestInit);
  expect((await get()).status).toBe(403);
  expect((await get({ "Impersonate-User": "alice", "Impersonate-Group": "developers" })).status).toBe(200);
});

test("kubectl through the gateway reaches the cluster as the impersonated user", async () => {
  const until = Date.now() + 10_000;
  while ((await gw.fetch("/v1/clusters/lp/version", { token: "root-token" })).status === 404) {
    if (Date.now() > until) throw new Error("lp never served");
    await Bun.sleep(50);
  }
  const e = kubectlEnv({
    server: `${gw.gateway.url}/v1/clusters/lp`,
    token: "root-token",
    caPem: gw.gateway.caPem!,
  });
  envs.push(e);
  const r = await kubectl(e, ["get", "pods", "-o", "name"]);
  expect(r.stderr).toBe("");
  expect(r.stdout).toContain("pod/web-0");
  const list = kube
    .requests()
    .filter((q) => q.path === "/api/v1/namespaces/default/pods")
    .at(-1)!;
  expect(list).toMatchObject({ status: 200, user: "admin" });
  expect(list.impersonatedBy).toMatch(/^arn:aws:sts::111111111111:assumed-role\/kubeport-gateway\//);
}, 60_000);
