// The gateway's route table: health, metrics, JWKS, cluster status, and the proxied cluster API.
import { Hono } from "hono";
import type { Registry } from "prom-client";
import { describeError, notFound } from "../lib/errors.ts";
import type { ClusterHealth } from "./health.ts";
import {
  auditRequest,
  type ChainDeps,
  clusterChain,
  createRecentRefusals,
  type GatewayEnv,
} from "./middleware.ts";
import { statusCodeOf, statusOf, statusResponse } from "./status.ts";

export interface AppDeps extends ChainDeps {
  /** Readiness: ok, or the reason it is degraded. */
  readiness(): Promise<{ ok: boolean; message: string }>;
  metricsRegistry?: Registry;
  jwks(): Promise<unknown>;
  /** Per-cluster health (filtered per caller to the clusters it may reach). */
  clusterStatus?(): ClusterHealth[];
}

/** Builds the Hono app. `app.fetch(req, { server })` under Bun.serve; `app.request(…)` in tests. */
export function createApp(deps: AppDeps): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();

  app.get("/healthz", (c) => c.text("ok"));
  app.get("/readyz", async (c) => {
    const r = await deps.readiness();
    return c.text(r.message, r.ok ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    if (!deps.metricsRegistry) return c.text("", 404);
    return c.body(await deps.metricsRegistry.metrics(), 200, {
      "content-type": deps.metricsRegistry.contentType,
    });
  });
  app.get("/.well-known/jwks.json", async (c) =>
    c.json(await deps.jwks(), 200, { "cache-control": "max-age=60" }),
  );
  app.get("/v1/status/clusters", async (c) => {
    const identity = await deps.authenticator.authenticate(c.req.header("authorization"));
    // Only the clusters this identity may reach.
    const visible = new Set(
      deps.authorizer.visibleClusters(identity, deps.cache.clusters()).map((k) => k.metadata.name),
    );
    return c.json((deps.clusterStatus?.() ?? []).filter((h) => visible.has(h.name)));
  });
  const chain = clusterChain({ refusals: createRecentRefusals(), ...deps });
  const last = chain.pop()!;
  for (const mw of chain) app.use("/v1/clusters/*", mw);
  app.all("/v1/clusters/*", last);

  app.notFound((c) => statusResponse(statusOf(notFound(`path ${JSON.stringify(c.req.path)} not found`))));
  app.onError((err, c) => {
    const code = statusCodeOf(err);
    if (code >= 500) deps.log.warn({ err: describeError(err), path: c.req.path }, "gateway request failed");
    else deps.log.debug({ err: describeError(err), path: c.req.path }, "gateway request refused");
    auditRequest(deps, c, code, 0);
    const headers: Record<string, string> =
      code === 401 ? { "www-authenticate": 'Bearer realm="kubeport"' } : {};
    return statusResponse(statusOf(err), headers);
  });
  return app;
}
