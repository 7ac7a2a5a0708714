// The set-up the open-stream tests (revocation, token-keys) and kubectl-resources share: a gateway
// with real auth (registry users, roles and signing keys) and EKS credentials over the simulated dev
// and prod clusters; people with tokens and kubectl environments; long-lived kubectl processes and
// exec WebSockets; and the waits those tests use. close() stops every stream and removes every
// environment it made.
import { afterAll, beforeAll, expect } from "bun:test";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { eksCredentials } from "../../src/gateway/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import type { KubeSim } from "../../src/sim/index.ts";
import { runCliCaptured } from "../helpers/cli.ts";
import { type KubectlEnv, type KubectlStream, kubectlEnv, kubectlStream } from "../helpers/kubectl.ts";
import { startDevProdSim, startTestGateway, type TestGateway, testRoles } from "./fixture.ts";

export const ISSUER = kubeportIssuer({ public_addr: "localhost:3080" });

/** A registry user with these roles, created now. */
export const userResource = (name: string, roles: string[]): Resource => ({
  kind: "user",
  version: "v1",
  metadata: { name },
  spec: { roles, created: new Date().toISOString() },
});

export interface SimGateway {
  sims: Awaited<ReturnType<typeof startDevProdSim>>;
  /** The simulated dev cluster (dev-a): its request log and live streams. */
  dev: KubeSim;
  gw: TestGateway;
  /** Another gateway over the same clusters (the same resources, real auth), with more proxy_service keys; closed by close(). */
  another(proxyYaml: string): Promise<TestGateway>;
  /** A kubectl environment with `token` for `cluster` of gateway `g` (default this one). */
  envWith(token: string, cluster?: string, g?: TestGateway): KubectlEnv;
  /** A fresh registry user with `roles` (default dev), a token `ctl auth sign` would give them, and a kubectl on `cluster`. */
  person(
    name: string,
    opts?: { roles?: string[]; cluster?: string; ttlMs?: number; gateway?: TestGateway },
  ): Promise<{ env: KubectlEnv; token: string }>;
  /** A long-lived kubectl (exec, watch, logs -f, port-forward …). */
  open(env: KubectlEnv, args: string[]): KubectlStream;
  /** `kubeport ctl …` against this gateway's config: its stdout, failing the test unless it exits 0 quietly. */
  ctl(...args: string[]): Promise<string>;
  close(): Promise<void>;
}

export interface SimGatewayOptions {
  /** Registry resources (roles, users …) every gateway starts with, besides testRoles. */
  resources?: Resource[];
}

/** The simulated dev/prod clusters behind a gateway with real auth, EKS credentials and testRoles. */
export async function startSimGateway({ resources = [] }: SimGatewayOptions = {}): Promise<SimGateway> {
  const sims = await startDevProdSim();
  const gateway = (proxyYaml?: string) =>
    startTestGateway({
      realAuth: true,
      credentials: eksCredentials(),
      clusters: sims.clusters,
      resources: [...testRoles, ...resources],
      ...(proxyYaml ? { proxyYaml } : {}),
    });
  const gw = await gateway();
  const gateways = [gw];
  const envs: KubectlEnv[] = [];
  const streams: KubectlStream[] = [];
  const envWith = (token: string, cluster = "dev-a", g = gw) => {
    const e = kubectlEnv({
      server: `${g.gateway.url}/v1/clusters/${cluster}`,
      token,
      caPem: g.gateway.caPem!,
    });
    envs.push(e);
    return e;
  };
  return {
    sims,
    dev: sims.dev,
    gw,
    async another(proxyYaml) {
      const g = await gateway(proxyYaml);
      gateways.push(g);
      return g;
    },
    envWith,
    async person(name, { roles = ["dev"], cluster = "dev-a", ttlMs, gateway: g = gw } = {}) {
      await g.backend.put(userResource(name, roles));
      const token = await issueUserToken(g.backend, {
        user: name,
        issuer: ISSUER,
        ...(ttlMs ? { ttlMs } : {}),
      });
      return { env: envWith(token, cluster, g), token };
    },
    open(env, args) {
      const s = kubectlStream(env, args, { timeoutMs: 120_000 });
      streams.push(s);
      return s;
    },
    async ctl(...args) {
      const r = await runCliCaptured(["ctl", "-c", gw.configPath, ...args]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return r.stdout;
    },
    async close() {
      for (const s of streams) await s.stop();
      for (const e of envs) e.cleanup();
      for (const g of gateways) await g.close();
      await sims.close();
    },
  };
}

/**
 * For a test file: a SimGateway started before its tests (beforeAll) and closed after them
 * (afterAll). Its parts are read inside tests, once it has started.
 */
export function useSimGateway(options: SimGatewayOptions = {}): SimGateway {
  let started: SimGateway | undefined;
  beforeAll(async () => {
    started = await startSimGateway(options);
  }, 60_000);
  afterAll(async () => {
    await started?.close();
  });
  const s = () => {
    if (!started) throw new Error("the SimGateway starts in beforeAll: use it inside a test or hook");
    return started;
  };
  return {
    get sims() {
      return s().sims;
    },
    get dev() {
      return s().dev;
    },
    get gw() {
      return s().gw;
    },
    another: (proxyYaml) => s().another(proxyYaml),
    envWith: (token, cluster, g) => s().envWith(token, cluster, g),
    person: (name, opts) => s().person(name, opts),
    open: (env, args) => s().open(env, args),
    ctl: (...args) => s().ctl(...args),
    close: () => s().close(),
  };
}

/** An exec of `sleep 600` on web-0 of `cluster` over a raw WebSocket (v5): the frames it got, and its close. */
export function execSocket(gw: TestGateway, cluster: string, token: string) {
  const ws = new WebSocket(
    `${gw.gateway.url.replace("https", "wss")}/v1/clusters/${cluster}/api/v1/namespaces/default/pods/web-0/exec?command=sleep&command=600&stdout=true&stderr=true`,
    {
      headers: { authorization: `Bearer ${token}` },
      protocols: ["v5.channel.k8s.io"],
      tls: { ca: gw.gateway.caPem },
    } as never,
  );
  ws.binaryType = "arraybuffer";
  const frames: Uint8Array[] = [];
  ws.addEventListener("message", (e) => frames.push(new Uint8Array(e.data as ArrayBuffer)));
  const closed = new Promise<CloseEvent>((r) => ws.addEventListener("close", r as never));
  /** The Status the gateway sent on channel 3 (the error channel), parsed. */
  const status = () => {
    const f = frames.find((x) => x[0] === 3);
    return f && (JSON.parse(new TextDecoder().decode(f.subarray(1))) as Record<string, unknown>);
  };
  return { ws, frames, closed, status };
}

/** Polls `cond` every 20 ms; throws naming `what` after `ms`. */
export async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** kubectl's exit code once it ends by itself (fails the test if it does not within `ms`). */
export async function exitOf(s: KubectlStream, ms = 20_000): Promise<number> {
  return Promise.race([
    s.exited,
    Bun.sleep(ms).then(() => {
      throw new Error(`kubectl still running after ${ms} ms; stderr: ${s.stderr()}`);
    }),
  ]);
}
