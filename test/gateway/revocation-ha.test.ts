// Revocation across an HA pair: two gateways on one Redis registry (a real redis-server); `ctl users
// rm` against the registry through one's config ends a stream relayed by the other within ~1 s.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { eksCredentials } from "../../src/gateway/index.ts";
import { openRedisBackend } from "../../src/registry/index.ts";
import { runCliCaptured } from "../helpers/cli.ts";
import { type KubectlEnv, type KubectlStream, kubectlEnv, kubectlStream } from "../helpers/kubectl.ts";
import { type RedisStandalone, startRedisStandalone } from "../helpers/redis.ts";
import { startDevProdSim, startTestGateway, type TestGateway, testRoles } from "./fixture.ts";

const REVOKED_WITHIN_MS = 5000;
const PREFIX = `revoke-ha-${process.pid}`;

let redis: RedisStandalone;
let sims: Awaited<ReturnType<typeof startDevProdSim>>;
let a: TestGateway;
let b: TestGateway;
let kenv: KubectlEnv | undefined;
let watch: KubectlStream | undefined;
let exec: KubectlStream | undefined;

beforeAll(async () => {
  redis = await startRedisStandalone();
  sims = await startDevProdSim();
  const gateway = async () =>
    startTestGateway({
      realAuth: true,
      credentials: eksCredentials(),
      clusters: sims.clusters,
      resources: testRoles,
      backend: openRedisBackend({ url: redis.url, key_prefix: PREFIX }),
    });
  a = await gateway();
  b = await gateway();
}, 60_000);

afterAll(async () => {
  await watch?.stop();
  await exec?.stop();
  kenv?.cleanup();
  await a?.close();
  await b?.close();
  await sims?.close();
  await redis?.stop();
});

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

test("ctl users rm through one gateway's registry ends the exec and watch relayed by the other", async () => {
  await a.backend.put({
    kind: "user",
    version: "v1",
    metadata: { name: "ha-alice" },
    spec: { roles: ["dev"], created: new Date().toISOString() },
  });
  const token = await issueUserToken(a.backend, {
    user: "ha-alice",
    issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
  });
  // kubectl talks to gateway B only.
  kenv = kubectlEnv({ server: `${b.gateway.url}/v1/clusters/dev-a`, token, caPem: b.gateway.caPem! });
  const live = () => sims.dev.liveStreams();
  const before = live();
  exec = kubectlStream(kenv, ["exec", "web-0", "--", "sleep", "600"], { timeoutMs: 120_000 });
  watch = kubectlStream(kenv, ["get", "pods", "-w"], { timeoutMs: 120_000 });
  await until("both streams to be open upstream", () => {
    const now = live();
    return now.exec === before.exec + 1 && now.watch === before.watch + 1;
  });

  // ctl with a config of its own on the same Redis: the registry is all the gateways share.
  const cfg = join(a.dir, "ctl-redis.yaml");
  writeFileSync(
    cfg,
    `version: v1\nkubeport:\n  data_dir: ${join(a.dir, "ctl")}\n  storage: { type: redis, url: "${redis.url}", key_prefix: ${PREFIX} }\n`,
  );
  const t0 = performance.now();
  const rm = await runCliCaptured(["ctl", "-c", cfg, "users", "rm", "ha-alice"]);
  expect(rm.stderr).toBe("");
  expect(rm.code).toBe(0);
  await until("both upstream streams to close", () => {
    const now = live();
    return now.exec === before.exec && now.watch === before.watch;
  });
  const ms = performance.now() - t0;
  expect(ms).toBeLessThan(REVOKED_WITHIN_MS);

  expect(await exec.exited).toBe(1);
  expect(exec.stderr()).toContain('kubeport: user "ha-alice" was removed');
  expect(await watch.exited).toBe(0);
  expect(watch.stdout()).toMatch(/Failure\s+Unauthorized\s+kubeport: user "ha-alice" was removed/);
}, 90_000);
