// The gateway's route table: health, JWKS, cluster status, and the proxied cluster API. Metrics are
// not served here: they name clusters and refusals, so they live on kubeport.diag_addr.

import type { Server, SocketAddress } from "bun";
import { Hono } from "hono";
import { notFound } from "../lib/errors.ts";
import type { WsSession } from "./forward/websocket.ts";
import type { ClusterHealth } from "./health.ts";
import { chargeAddress, limitAddress } from "./limits/index.ts";
import { authRoutes, type LoginService } from "./login/index.ts";
import { type ChainDeps, clusterHandler, createRecentRefusals, errorResponse } from "./middleware.ts";
import { addRecordingRoutes } from "./recordings-api.ts";
import { unlockedClusters } from "./sessions/index.ts";
import { statusOf, statusResponse } from "./status.ts";

/** Hono's env for this app: Bun.serve passes its server (WebSocket upgrades, client IPs). */
export interface GatewayEnv {
  Bindings: { server?: Server<WsSession> };
}

export interface AppDeps extends ChainDeps {
  /** Readiness: ok, or the reason it is degraded. */
  readiness(): Promise<{ ok: boolean; message: string }>;
  /** True once a graceful stop began: /healthz answers 503. */
  draining?(): boolean;
  jwks(): Promise<unknown>;
  /** Per-cluster health (filtered per caller to the clusters it may reach). */
  clusterStatus?(): ClusterHealth[];
  /** Signing in (`kubeport login`): serves /v1/auth/*. */
  login?: LoginService;
  /** The web console, mounted at /web (and / redirects there). */
  web?: Hono<GatewayEnv>;
}

/** `ANY /v1/clusters/*` as a plain function of the request. */
export type ClusterRoute = (
  req: Request,
  server?: Server<WsSession>,
  /** server.requestIP(req) when the caller looked it up already (null: none). */
  peer?: SocketAddress | null,
) => Promise<Response>;

/** The Hono app, plus its cluster route for Bun.serve to call without Hono's routing and context. */
export type GatewayApp = Hono<GatewayEnv> & { clusterRoute: ClusterRoute };

/** Builds the Hono app. `app.fetch(req, { server })` under Bun.serve; `app.request(…)` in tests. */
export function createApp(deps: AppDeps): GatewayApp {
  const app = new Hono<GatewayEnv>();

  // Load balancers probe these: never limited. /healthz: 503 from the first moment of a graceful
  // stop (see drain.ts).
  app.get("/healthz", (c) => (deps.draining?.() ? c.text("draining", 503) : c.text("ok")));
  app.get("/readyz", async (c) => {
    const r = await deps.readiness();
    return c.text(r.message, r.ok ? 200 : 503);
  });
  // The proxied API limits itself (middleware.ts); Bun.serve calls it without Hono (server.ts).
  const cluster = clusterHandler({ refusals: createRecentRefusals(), ...deps });
  app.all("/v1/clusters/*", (c) => cluster(c.req.raw, c.env?.server));
  // Every other route here answers without an authenticated user: each request costs the client
  // address one token of proxy_service.limits.unauthenticated_rate (the cluster route charges
  // only refused tokens, see middleware.ts).
  app.use("*", async (c, next) => {
    const server = c.env?.server;
    // The address audit would record (trusted proxies' X-Forwarded-For); without it, the peer's.
    const addr = deps.addresses?.of(c.req.raw, server);
    const r = { req: c.req.raw, ...(server ? { server } : {}), ...(addr ? { addr } : {}) };
    limitAddress(deps.limits, r);
    chargeAddress(deps.limits, r);
    await next();
  });
  app.get("/metrics", () =>
    statusResponse(statusOf(notFound("metrics are served on kubeport.diag_addr, not the gateway's port"))),
  );
  app.get("/.well-known/jwks.json", async (c) =>
    c.json(await deps.jwks(), 200, { "cache-control": "max-age=60" }),
  );
  app.get("/v1/status/clusters", async (c) => {
    const header = c.req.header("authorization");
    const all = deps.clusterStatus?.() ?? [];
    if (await deps.authenticator.isStatusReader?.(header)) return c.json(all);
    const identity = await deps.authenticator.authenticate(header);
    // Only the clusters this identity may reach now: its roles allow them and no lock closes them.
    const visible = new Set(
      unlockedClusters(
        deps.cache.locks(),
        identity,
        deps.authorizer.visibleClusters(identity, deps.cache.clusters()),
        Date.now(),
      ).map((k) => k.metadata.name),
    );
    return c.json(all.filter((h) => visible.has(h.name)));
  });
  if (deps.login)
    app.route(
      "/v1/auth",
      authRoutes({
        login: deps.login,
        log: deps.log,
        ...(deps.clusterStatus ? { clusterStatus: deps.clusterStatus } : {}),
        ...(deps.addresses ? { addresses: deps.addresses } : {}),
      }),
    );
  if (deps.web) {
    const web = deps.web;
    app.get("/", (c) => c.redirect("/web", 302));
    // Mounted at /web, the console's own "/" is /web exactly; the address people type ends in "/".
    app.get("/web/", (c) => c.redirect("/web", 302));
    app.route("/web", web);
  }
  if (deps.recording)
    addRecordingRoutes(app, {
      authenticator: deps.authenticator,
      authorizer: deps.authorizer,
      store: deps.recording.store,
      ...(deps.audit ? { audit: deps.audit } : {}),
      ...(deps.hostname ? { hostname: deps.hostname } : {}),
    });

  app.notFound((c) => statusResponse(statusOf(notFound(`path ${JSON.stringify(c.req.path)} not found`))));
  app.onError((err, c) => errorResponse(deps, undefined, err, c.req.path));
  return Object.assign(app, { clusterRoute: cluster });
}
