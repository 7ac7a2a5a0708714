// The kubectl range the README states: exec over WebSocket from 1.30, port-forward from 1.31; older
// builds (SPDY) get a refusal naming the version and the variable. Uses the per-version builds the
// gcloud kubectl dispatcher ships beside /usr/bin/kubectl (skipped where they are not installed).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { eksCredentials } from "../../src/gateway/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import { type KubectlEnv, kubectlEnv } from "../helpers/kubectl.ts";
import { startDevProdSim, startTestGateway, type TestGateway, testRoles } from "./fixture.ts";

const BIN = "/usr/lib/google-cloud-sdk/bin";
const build = (v: string) => `${BIN}/kubectl.${v}`;
const have = ["1.30", "1.31", "1.33"].every((v) => existsSync(build(v)));

let sims: Awaited<ReturnType<typeof startDevProdSim>>;
let gw: TestGateway;
let env: KubectlEnv;

beforeAll(async () => {
  if (!have) return;
  sims = await startDevProdSim();
  const now = new Date().toISOString();
  gw = await startTestGateway({
    realAuth: true,
    credentials: eksCredentials(),
    clusters: sims.clusters,
    resources: [
      ...testRoles,
      {
        kind: "user",
        version: "v1",
        metadata: { name: "alice" },
        spec: { roles: ["dev"], created: now },
      } as Resource,
    ],
  });
  const token = await issueUserToken(gw.backend, {
    user: "alice",
    issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
  });
  env = kubectlEnv({ server: `${gw.gateway.url}/v1/clusters/dev-a`, token, caPem: gw.gateway.caPem! });
}, 60_000);

afterAll(async () => {
  env?.cleanup();
  await gw?.close();
  await sims?.close();
});

async function run(version: string, args: string[]) {
  const p = Bun.spawn([build(version), ...args], {
    env: env.env,
    stdout: "pipe",
    stderr: "pipe",
    timeout: 30_000,
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { stdout, stderr, code };
}

/** port-forward until it forwards one HTTP request, or until it exits. */
async function portForward(version: string) {
  const p = Bun.spawn([build(version), "port-forward", "web-0", ":80"], {
    env: env.env,
    stdout: "pipe",
    stderr: "pipe",
    timeout: 30_000,
    killSignal: "SIGKILL",
  });
  let out = "";
  const reader = p.stdout.getReader();
  const dec = new TextDecoder();
  let body: string | undefined;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    out += dec.decode(value);
    const m = /127\.0\.0\.1:(\d+) -> 80/.exec(out);
    if (m) {
      body = await (await fetch(`http://127.0.0.1:${m[1]}/`)).text().catch(() => undefined);
      break;
    }
  }
  p.kill("SIGKILL");
  const stderr = await new Response(p.stderr).text();
  await p.exited;
  return { body, stderr };
}

describe.skipIf(!have)("kubectl versions", () => {
  test.each(["1.30", "1.31", "1.33"])(
    "kubectl %s: get and exec work",
    async (v) => {
      const get = await run(v, ["get", "pods"]);
      expect(get.code).toBe(0);
      expect(get.stdout).toContain("web-0");
      const exec = await run(v, ["exec", "web-0", "--", "echo", "hi"]);
      expect(exec.stdout).toBe("hi\n");
    },
    40_000,
  );

  test.each(["1.31", "1.33"])(
    "kubectl %s: port-forward works",
    async (v) => {
      expect((await portForward(v)).body).toBe("hello from web-0\n");
    },
    40_000,
  );

  test("kubectl 1.30: port-forward (SPDY) is refused naming kubectl 1.31", async () => {
    const { body, stderr } = await portForward("1.30");
    expect(body).not.toBe("hello from web-0\n");
    expect(stderr).toContain("port-forward needs kubectl 1.31 or newer");
  }, 60_000);

  test("kubectl 1.29: exec (SPDY) is refused naming kubectl 1.30", async () => {
    if (!existsSync(build("1.29"))) return;
    const exec = await run("1.29", ["exec", "web-0", "--", "echo", "hi"]);
    expect(exec.code).not.toBe(0);
    expect(exec.stderr).toContain("exec, attach and cp need kubectl 1.30 or newer");
  }, 60_000);
});
