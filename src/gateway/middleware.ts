// The cluster route's chain of named middleware:
// authenticate → resolve cluster → authorize → strip client headers → impersonate → forward.
import type { Server } from "bun";
import type { Context, MiddlewareHandler } from "hono";
import { badParameter, notFound } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { KubeCluster } from "../registry/index.ts";
import type { ClusterCache } from "./cluster-cache.ts";
import { parseClusterPath, rawTarget } from "./cluster-path.ts";
import { impersonate, setForwarded, stripClientHeaders } from "./forward/headers.ts";
import { forwardHttp } from "./forward/http.ts";
import { proxyWebSocket, type WsSession } from "./forward/websocket.ts";
import type { AuditSink, Authenticator, Authorizer, Grant, Identity } from "./identity.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { isSessionRequest, type RequestInfo, requestInfo } from "./request-info.ts";
import { kubeStatus, statusResponse } from "./status.ts";
import type { UpstreamCredentials } from "./upstream/credentials.ts";
import { upstreamTls } from "./upstream/tls.ts";

export interface GatewayEnv {
  Bindings: { server?: Server<WsSession> };
  Variables: {
    started: number;
    identity: Identity;
    cluster: KubeCluster;
    /** Upstream path (still encoded) and query string. */
    path: string;
    search: string;
    info: RequestInfo;
    grant: Grant;
    upstreamHeaders: Headers;
    /** Impersonate-Group values, sent as separate header lines. */
    groups: string[];
  };
}
type Mw = MiddlewareHandler<GatewayEnv>;

export interface ChainDeps {
  authenticator: Authenticator;
  authorizer: Authorizer;
  cache: ClusterCache;
  credentials: UpstreamCredentials;
  audit?: AuditSink;
  metrics?: GatewayMetrics;
  log: Logger;
  /** WebSocket refusals remembered for kubectl's SPDY retry. */
  refusals?: RecentRefusals;
}

/** Refused WebSocket attempts, kept briefly so the SPDY retry that follows gets the same answer. */
export interface RecentRefusals {
  remember(key: string, status: number, body: string): void;
  /** The refusal for this key within the last `ttlMs`, removed once taken. */
  take(key: string): { status: number; body: string } | undefined;
}

export function createRecentRefusals(ttlMs = 10_000, max = 1000): RecentRefusals {
  const m = new Map<string, { status: number; body: string; at: number }>();
  return {
    remember(key, status, body) {
      if (m.size >= max) m.clear();
      m.set(key, { status, body, at: performance.now() });
    },
    take(key) {
      const e = m.get(key);
      m.delete(key);
      return e && performance.now() - e.at < ttlMs ? e : undefined;
    },
  };
}

const refusalKey = (c: Context<GatewayEnv>) =>
  `${c.var.identity.user}\u0000${c.var.cluster.metadata.name}\u0000${c.var.path}${c.var.search}`;

const isWebSocket = (h: Headers) => h.get("upgrade")?.toLowerCase() === "websocket";
const isSpdy = (h: Headers) => (h.get("upgrade") ?? "").toLowerCase().startsWith("spdy/");

/** Verifies the bearer token (401 before anything else is looked at). */
export const authenticate =
  ({ authenticator }: ChainDeps): Mw =>
  async (c, next) => {
    c.set("started", performance.now());
    c.set("identity", await authenticator.authenticate(c.req.header("authorization")));
    await next();
  };

/** Splits the raw path safely and finds the served cluster (404 when it is not served). */
export const resolveCluster =
  ({ cache }: ChainDeps): Mw =>
  async (c, next) => {
    const { path: raw, search } = rawTarget(c.req.url);
    const { cluster: name, path } = parseClusterPath(raw);
    const cluster = cache.cluster(name);
    if (!cluster) throw notFound(`kube_cluster "${name}" not found`);
    let info = requestInfo(c.req.method, path, search);
    // A WebSocket GET on exec/attach/portforward creates a session, as the API server sees it.
    if (isSessionRequest(info)) info = { ...info, verb: "create" };
    c.set("cluster", cluster);
    c.set("path", path);
    c.set("search", search);
    c.set("info", info);
    await next();
  };

/** The identity's grant on this cluster (403 when its roles do not reach it). */
export const authorize =
  ({ authorizer }: ChainDeps): Mw =>
  async (c, next) => {
    c.set("grant", authorizer.authorize(c.var.identity, c.var.cluster));
    await next();
  };

/** Drops client credentials, every Impersonate-* and hop-by-hop header; refuses SPDY. */
export const stripHeaders =
  (refusals?: RecentRefusals): Mw =>
  async (c, next) => {
    if (isSpdy(c.req.raw.headers)) {
      // kubectl retries a refused WebSocket attempt over SPDY: answer with the real refusal.
      const earlier = refusals?.take(refusalKey(c));
      if (earlier)
        return new Response(earlier.body, {
          status: earlier.status,
          headers: { "content-type": "application/json" },
        });
      throw badParameter(
        "kubeport speaks WebSocket (v5.channel.k8s.io) only; unset KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false",
      );
    }
    c.set(
      "upstreamHeaders",
      stripClientHeaders(c.req.raw.headers, { websocket: isWebSocket(c.req.raw.headers) }),
    );
    await next();
  };

/** Adds our upstream credentials, the impersonated user/groups/extras and X-Forwarded-*. */
export const impersonateUpstream =
  ({ credentials }: ChainDeps): Mw =>
  async (c, next) => {
    const { identity, grant, cluster } = c.var;
    const h = c.var.upstreamHeaders;
    const groups = impersonate(h, await credentials.authorization(cluster), {
      user: grant.kubernetesUsers[0] ?? identity.user,
      groups: grant.kubernetesGroups,
      extra: { "kubeport-user": [identity.user], "kubeport-roles": grant.roles },
    });
    c.set("groups", groups);
    const server = c.env?.server;
    setForwarded(h, {
      clientIp: server?.requestIP(c.req.raw)?.address,
      proto: new URL(c.req.url).protocol.replace(":", ""),
      host: c.req.header("host"),
    });
    await next();
  };

/** Records one request in the audit sink and metrics. */
export function auditRequest(
  deps: ChainDeps,
  c: Context<GatewayEnv>,
  status: number,
  bytesOut: number,
): void {
  const { identity, cluster, info, started } = c.var;
  if (!identity) return;
  deps.metrics?.requests.inc({
    cluster: cluster?.metadata.name ?? "",
    code: String(status),
    verb: info?.verb ?? "",
  });
  deps.audit?.request({
    time: new Date().toISOString(),
    user: identity.user,
    roles: identity.roles,
    cluster: cluster?.metadata.name ?? "",
    verb: info?.verb ?? c.req.method.toLowerCase(),
    resource: info?.resource ?? "",
    ...(info?.subresource ? { subresource: info.subresource } : {}),
    ...(info?.namespace ? { namespace: info.namespace } : {}),
    ...(info?.name ? { name: info.name } : {}),
    status,
    latency_ms: Math.round(performance.now() - (started ?? performance.now())),
    bytes_out: bytesOut,
    ...(c.req.header("kubectl-command") ? { kubectl_command: c.req.header("kubectl-command") } : {}),
  });
}

/** Streams the request to the cluster (HTTP) or relays the WebSocket session. */
export const forward =
  (deps: ChainDeps): Mw =>
  async (c) => {
    const { cluster, path, search, info, identity } = c.var;
    const base = cluster.spec.endpoint.replace(/\/+$/, "");
    const tls = upstreamTls(cluster);
    const server = c.env?.server;
    if (isWebSocket(c.req.raw.headers)) {
      if (!server) return statusResponse(kubeStatus(500, "WebSocket needs the Bun server"));
      const kind = (info.subresource ?? "exec") as "exec" | "attach" | "portforward";
      const q = new URLSearchParams(search);
      const base_ = {
        kind,
        user: identity.user,
        cluster: cluster.metadata.name,
        namespace: info.namespace ?? "",
        pod: info.name ?? "",
        ...(q.get("container") ? { container: q.get("container")! } : {}),
        ...(q.getAll("command").length ? { command: q.getAll("command") } : {}),
      };
      const response = await proxyWebSocket({
        request: c.req.raw,
        server,
        url: base.replace(/^http/, "ws") + path + search,
        headers: c.var.upstreamHeaders,
        groups: c.var.groups,
        tls,
        onStart: () => {
          deps.metrics?.sessions.inc({ cluster: cluster.metadata.name });
          deps.audit?.session({
            ...base_,
            phase: "start",
            time: new Date().toISOString(),
            bytes_in: 0,
            bytes_out: 0,
          });
        },
        onEnd: (r) => {
          deps.metrics?.sessions.dec({ cluster: cluster.metadata.name });
          deps.audit?.session({
            ...base_,
            phase: "end",
            time: new Date().toISOString(),
            bytes_in: r.bytesIn,
            bytes_out: r.bytesOut,
            ...(r.exitCode !== undefined ? { exit_code: r.exitCode } : {}),
            duration_ms: Math.round(r.durationMs),
          });
        },
      });
      if (response) {
        auditRequest(deps, c, response.status, 0);
        deps.refusals?.remember(refusalKey(c), response.status, await response.clone().text());
      }
      // After a successful upgrade Bun owns the socket and ignores this response.
      return response ?? new Response(null);
    }
    // Watches, logs -f and exec-less streams live as long as upstream keeps them.
    server?.timeout(c.req.raw, 0);
    const t0 = performance.now();
    const res = await forwardHttp({
      request: c.req.raw,
      url: base + path + search,
      headers: c.var.upstreamHeaders,
      groups: c.var.groups,
      tls,
      onDone: ({ status, bytesOut }) => auditRequest(deps, c, status, bytesOut),
    });
    deps.metrics?.latency.observe({ cluster: cluster.metadata.name }, (performance.now() - t0) / 1000);
    return res;
  };

/** The whole chain, in order. */
export const clusterChain = (deps: ChainDeps): Mw[] => [
  authenticate(deps),
  resolveCluster(deps),
  authorize(deps),
  stripHeaders(deps.refusals),
  impersonateUpstream(deps),
  forward(deps),
];
