// Test parts for the gateway: a tiny recording HTTPS/WebSocket upstream, a token table
// authenticator, roles, and a gateway over a real SQLite registry.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerWebSocket } from "bun";
import { exportJWK, generateKeyPair } from "jose";
import { Registry } from "prom-client";
import type { AuditEvent, AuthFailureEvent, KubeRequestEvent, SessionEvent } from "../../src/audit/index.ts";
import { parseConfig } from "../../src/config/index.ts";
import { createConsole } from "../../src/console/index.ts";
import { createStaticAuthorizer } from "../../src/gateway/authorize.ts";
import type { AuditSink } from "../../src/gateway/identity.ts";
import {
  type Authenticator,
  createGateway,
  type Gateway,
  HEALTH_CHECK_USER_AGENT,
  type Identity,
  staticCredentials,
  type UpstreamCredentials,
} from "../../src/gateway/index.ts";
import { unauthenticated } from "../../src/lib/errors.ts";
import { type Logger, silentLogger } from "../../src/lib/log.ts";
import {
  type Backend,
  type KubeCluster,
  openSqliteBackend,
  type Resource,
  type Role,
} from "../../src/registry/index.ts";
import { type KubeSim, type Simulation, startSimulation } from "../../src/sim/index.ts";
import { startTlsUpstream } from "../helpers/tls-upstream.ts";

export interface Recorded {
  method: string;
  /** Raw path + query as the upstream received it. */
  target: string;
  headers: Headers;
  body: string;
}

export interface Upstream {
  url: string;
  caPem: string;
  requests: Recorded[];
  /**
   * What was proxied: `requests` without the gateway's own health checks (they say so in their
   * User-Agent, HEALTH_CHECK_USER_AGENT), which run on a timer and may land in the middle of a test
   * that counts what reached upstream.
   */
  proxied(): Recorded[];
  /** Pushes one line to every open watch. */
  emit(line: string): void;
  openWatches(): number;
  /** Client ports seen: one per upstream connection the gateway opened. */
  ports: Set<number>;
  /** Payloads of WebSocket pings the upstream received. */
  pings: string[];
  /** Watches whose client went away (their stream was cancelled). */
  cancelledWatches(): number;
  close(): Promise<void>;
}

interface WsData {
  exitCode: number;
  /** Close with this code after the first message (tests close propagation). */
  closeWith?: number;
}

/** A minimal API-server stand-in: /version, echo, watch streams, big bodies, and a v5 exec echo. */
export async function startUpstream(): Promise<Upstream> {
  const requests: Recorded[] = [];
  const watches = new Set<ReadableStreamDefaultController<Uint8Array>>();
  let cancelled = 0;
  const pings: string[] = [];
  const ports = new Set<number>();
  const enc = new TextEncoder();
  const server = await startTlsUpstream<WsData>({
    idleTimeout: 0,
    async fetch(req, srv) {
      const u = new URL(req.url);
      const target = req.url.slice(req.url.indexOf("/", 8));
      const isWs = req.headers.get("upgrade")?.toLowerCase() === "websocket";
      ports.add(srv.requestIP(req)?.port ?? 0);
      requests.push({
        method: req.method,
        target,
        headers: new Headers(req.headers),
        body: isWs || req.method === "GET" ? "" : await req.text(),
      });
      if (u.pathname === "/version") return Response.json({ gitVersion: "v1.32.4", major: "1", minor: "32" });
      if (u.pathname.endsWith("/exec")) {
        if (u.pathname.includes("/forbidden/"))
          return Response.json({ kind: "Status", code: 403 }, { status: 403 });
        const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) => s.trim());
        const chosen = offered.includes("v5.channel.k8s.io") ? "v5.channel.k8s.io" : undefined;
        const ok = srv.upgrade(req, {
          data: {
            exitCode: Number(u.searchParams.get("exit") ?? 0),
            ...(u.searchParams.get("close") ? { closeWith: Number(u.searchParams.get("close")) } : {}),
          },
          headers: new Headers(chosen ? { "Sec-WebSocket-Protocol": chosen } : {}),
        });
        return ok ? undefined : new Response("upgrade failed", { status: 400 });
      }
      if (u.searchParams.get("watch") === "true") {
        let ctl: ReadableStreamDefaultController<Uint8Array>;
        return new Response(
          new ReadableStream<Uint8Array>({
            start(c) {
              ctl = c;
              watches.add(c);
            },
            cancel() {
              watches.delete(ctl);
              cancelled++;
            },
          }),
          { headers: { "content-type": "application/json" } },
        );
      }
      if (u.pathname === "/api/v1/big") {
        const mb = Number(u.searchParams.get("mb") ?? 8);
        const chunk = new Uint8Array(64 * 1024).fill(120);
        let sent = 0;
        return new Response(
          new ReadableStream<Uint8Array>({
            pull(c) {
              if (sent >= mb * 16) return c.close();
              sent++;
              c.enqueue(chunk);
            },
          }),
        );
      }
      return Response.json({ method: req.method, target, bodyLength: requests.at(-1)!.body.length });
    },
    websocket: {
      ping(_ws: ServerWebSocket<WsData>, data) {
        pings.push(Buffer.from(data).toString());
      },
      message(ws: ServerWebSocket<WsData>, msg) {
        if (ws.data.closeWith) return void ws.close(ws.data.closeWith, "upstream says bye");
        if (typeof msg === "string") return void ws.send(`text:${msg}`);
        const b = new Uint8Array(msg);
        if (b[0] === 0) ws.send(Uint8Array.of(1, ...b.subarray(1)));
        else if (b[0] === 255 && b[1] === 0) {
          ws.send(Uint8Array.of(2, ...enc.encode("done\n")));
          const code = ws.data.exitCode;
          const status =
            code === 0
              ? { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success" }
              : {
                  kind: "Status",
                  apiVersion: "v1",
                  metadata: {},
                  status: "Failure",
                  reason: "NonZeroExitCode",
                  details: { causes: [{ reason: "ExitCode", message: String(code) }] },
                };
          ws.send(Uint8Array.of(3, ...enc.encode(JSON.stringify(status))));
          ws.close(1000, "");
        }
      },
    },
  });
  return {
    url: server.url,
    caPem: server.caPem,
    requests,
    proxied: () => requests.filter((r) => r.headers.get("user-agent") !== HEALTH_CHECK_USER_AGENT),
    emit(line) {
      for (const c of watches) c.enqueue(enc.encode(`${line}\n`));
    },
    openWatches: () => watches.size,
    pings,
    ports,
    cancelledWatches: () => cancelled,
    close: async () => {
      for (const c of watches) c.close();
      await server.stop();
    },
  };
}

/** Authenticates `Bearer <user>-token` for the users below; anything else is refused. */
export const testUsers: Record<string, Identity> = {
  "alice-token": { user: "alice", roles: ["dev"], source: "kubeport", issuer: "test" },
  "root-token": { user: "root", roles: ["admin"], source: "kubeport", issuer: "test" },
};
export const testAuthenticator: Authenticator = {
  async authenticate(header) {
    const token = header?.replace(/^Bearer /i, "");
    if (token === "expired-token") throw unauthenticated("token expired");
    const id = token ? testUsers[token] : undefined;
    if (!id) throw unauthenticated("no valid bearer token");
    return id;
  },
};

export const testRoles: Role[] = [
  {
    kind: "role",
    version: "v1",
    metadata: { name: "dev" },
    spec: { allow: { kubernetes_labels: { env: "dev" }, kubernetes_groups: ["developers"] } },
  },
  {
    kind: "role",
    version: "v1",
    metadata: { name: "admin" },
    spec: {
      allow: {
        kubernetes_labels: { "*": "*" },
        kubernetes_groups: ["system:masters", "ops"],
        kubernetes_users: ["admin"],
      },
    },
  },
];

export function cluster(
  name: string,
  endpoint: string,
  caPem: string,
  labels: Record<string, string> = { env: "dev" },
): KubeCluster {
  return {
    kind: "kube_cluster",
    version: "v1",
    metadata: { name, labels },
    spec: {
      endpoint,
      ca_data: Buffer.from(caPem).toString("base64"),
      auth: "eks",
      aws: { region: "us-east-1", account_id: "111111111111", name },
    },
  };
}

/** Every event as emitted (refusals too, one each: no aggregation here). */
export class MemoryAudit implements AuditSink {
  events: AuditEvent[] = [];
  emit(ev: AuditEvent) {
    this.events.push(ev);
  }
  refuse(_key: string, _owner: string, ev: AuditEvent) {
    this.events.push({ ...ev, count: 1 });
  }
  /** kube.request and auth events. */
  get requests(): (KubeRequestEvent | AuthFailureEvent)[] {
    return this.events.filter(
      (e): e is KubeRequestEvent | AuthFailureEvent => e.event === "kube.request" || e.event === "auth",
    );
  }
  /** Events carrying a session id. */
  get sessions(): SessionEvent[] {
    return this.events.filter((e): e is SessionEvent => "sid" in e);
  }
}

export interface TestGateway {
  gateway: Gateway;
  backend: Backend;
  audit: MemoryAudit;
  dir: string;
  /** The config file the gateway runs with (same registry), for CLI tests. */
  configPath: string;
  /** The gateway's Prometheus registry (what kubeport.diag_addr would serve). */
  metrics: Registry;
  /** The value of a metric without labels, or of the series whose labels are given. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** fetch against the gateway, trusting its CA. */
  fetch(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  close(): Promise<void>;
}

/** The gateway config the fixture runs: data and registry in `dir`, any port, env=dev|prod clusters served. */
export const testGatewayConfig = (dir: string, extraYaml = "", proxyYaml = ""): string => `version: v1
kubeport:
  data_dir: ${dir}
proxy_service:
  enabled: true
  listen_addr: 127.0.0.1:0
  public_addr: localhost:3080
${proxyYaml}kubernetes_service:
  enabled: true
  resources:
    - labels: { env: [dev, prod] }
${extraYaml}`;

/** A gateway on 127.0.0.1:0 over a fresh SQLite registry, serving clusters labelled env=dev|prod. */
export async function startTestGateway(
  opts: {
    clusters?: KubeCluster[];
    upstreamToken?: string;
    extraYaml?: string;
    /** More keys under proxy_service (each line indented two spaces, newline-terminated), e.g. oidc. */
    proxyYaml?: string;
    /** Upstream credentials; default a static token. */
    credentials?: UpstreamCredentials;
    /** Use the real authenticator, role authorizer and registry audit (roles/users from the registry). */
    realAuth?: boolean;
    /** Resources written before the gateway starts (roles, users …). */
    resources?: Resource[];
    healthIntervalMs?: number;
    idleTimeoutSec?: number;
    /** Registry to use instead of a fresh SQLite file (closed by `close`). */
    backend?: Backend;
    /** Runs after `resources` are written, before the gateway starts (e.g. raw writes into `dir`/registry.db). */
    beforeStart?: (dir: string) => void | Promise<void>;
    /** The gateway's logger; silent by default. */
    log?: Logger;
    /** Serve the web console at /web (as `kubeport start` does). */
    web?: boolean;
  } = {},
): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), "kubeport-gw-"));
  const backend = opts.backend ?? openSqliteBackend({ path: join(dir, "registry.db"), pollMs: 50 });
  for (const c of opts.clusters ?? []) await backend.put(c);
  for (const r of opts.resources ?? []) await backend.put(r);
  await opts.beforeStart?.(dir);
  const configText = testGatewayConfig(dir, opts.extraYaml, opts.proxyYaml);
  const configPath = join(dir, "kubeport.yaml");
  writeFileSync(configPath, configText);
  const config = parseConfig(configText, configPath, { env: {} });
  const audit = new MemoryAudit();
  const metrics = new Registry();
  const gateway = await createGateway({
    config,
    backend,
    log: opts.log ?? silentLogger,
    metrics,
    credentials: opts.credentials ?? staticCredentials(opts.upstreamToken ?? "upstream-secret"),
    ...(opts.realAuth
      ? {}
      : { authenticator: testAuthenticator, authorizer: createStaticAuthorizer(testRoles), audit }),
    healthIntervalMs: opts.healthIntervalMs ?? 60_000,
    ...(opts.idleTimeoutSec ? { idleTimeoutSec: opts.idleTimeoutSec } : {}),
    ...(opts.web ? { web: (deps) => createConsole(deps) } : {}),
  });
  return {
    gateway,
    backend,
    audit,
    dir,
    configPath,
    metrics,
    async metric(name, labels = {}) {
      const m = await metrics.getSingleMetric(name)?.get();
      const want = Object.entries(labels);
      const v = m?.values.find((x) => want.every(([k, val]) => String(x.labels[k]) === val));
      return v?.value ?? 0;
    },
    fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      if (init.token) headers.set("authorization", `Bearer ${init.token}`);
      return fetch(gateway.url + path, { ...init, headers, tls: { ca: gateway.caPem } } as RequestInit);
    },
    async close() {
      await gateway.stop();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A simulated EKS cluster as the kube_cluster discovery would register for it. */
export function simCluster(s: KubeSim, labels: Record<string, string>): KubeCluster {
  return {
    kind: "kube_cluster",
    version: "v1",
    metadata: { name: s.clusterName, labels },
    spec: {
      endpoint: s.endpoint,
      ca_data: s.caData,
      auth: "eks",
      aws: { region: "us-east-1", account_id: "111111111111", name: s.clusterName, arn: s.clusterArn },
    },
  };
}

/**
 * A simulated AWS account with clusters dev-a (env=dev) and prod-a (env=prod), each with a Kubernetes
 * API; its AWS settings go into process.env (restored by `close`), where the gateway's default
 * credential chain finds them as production would.
 */
export async function startDevProdSim(): Promise<{
  sim: Simulation;
  dev: KubeSim;
  prod: KubeSim;
  clusters: KubeCluster[];
  close(): Promise<void>;
}> {
  const saved = { ...process.env };
  const sim = await startSimulation({
    clusters: [
      { name: "dev-a", region: "us-east-1", tags: { env: "dev" } },
      { name: "prod-a", region: "us-east-1", tags: { env: "prod" } },
    ],
  });
  Object.assign(process.env, sim.aws.env);
  const kubes = [...sim.kube.values()];
  const dev = kubes.find((k) => k.clusterName === "dev-a")!;
  const prod = kubes.find((k) => k.clusterName === "prod-a")!;
  return {
    sim,
    dev,
    prod,
    clusters: [simCluster(dev, { env: "dev" }), simCluster(prod, { env: "prod" })],
    async close() {
      await sim.close();
      process.env = saved;
    },
  };
}

/** A local OIDC issuer: discovery + JWKS over HTTP, RS256 tokens signed on demand, hits counted. */
export interface TestIdp {
  issuerUrl: string;
  privateKey: CryptoKey;
  hits: { discovery: number; jwks: number };
  stop(): void;
}

/** `trailingSlash`: the discovery document (and so the tokens) name the issuer with a final "/", as Auth0 does. */
export async function startTestIdp({ trailingSlash = false } = {}): Promise<TestIdp> {
  const pair = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "idp-1", alg: "RS256", use: "sig" };
  const hits = { discovery: 0, jwks: 0 };
  let issuerUrl = "";
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/.well-known/openid-configuration") {
        hits.discovery++;
        return Response.json({
          issuer: trailingSlash ? `${issuerUrl}/` : issuerUrl,
          jwks_uri: `${issuerUrl}/keys`,
        });
      }
      if (path === "/keys") {
        hits.jwks++;
        return Response.json({ keys: [jwk] });
      }
      return new Response("not found", { status: 404 });
    },
  });
  issuerUrl = `http://127.0.0.1:${server.port}`;
  return { issuerUrl, privateKey: pair.privateKey, hits, stop: () => server.stop(true) };
}
