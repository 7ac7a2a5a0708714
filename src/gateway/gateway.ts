// createGateway: TLS, the cluster cache, auth, health checks, the Hono app and the listener, wired.

import type { Hono } from "hono";
import { Registry } from "prom-client";
import type { Config } from "../config/index.ts";
import { systemClock } from "../lib/clock.ts";
import { unavailable } from "../lib/errors.ts";
import { parseListenAddr, reachableHost } from "../lib/listen-addr.ts";
import type { Logger } from "../lib/log.ts";
import { createLogSummary } from "../lib/log-summary.ts";
import { openRecordingStore, type RecordingStore } from "../recording/index.ts";
import type { Backend } from "../registry/index.ts";
import { createApp, type GatewayEnv } from "./app.ts";
import { createAuditSink } from "./audit/index.ts";
import { createAuthenticator, kubeportIssuer, loadJwks } from "./auth/index.ts";
import { type CachingAuthenticator, cachingAuthenticator } from "./auth-cache.ts";
import { createRoleAuthorizer } from "./authorize.ts";
import { clientAddresses } from "./client-address.ts";
import { type CacheChange, type ClusterCache, createClusterCache } from "./cluster-cache.ts";
import { drain } from "./drain.ts";
import { type ClusterHealth, createHealthChecker } from "./health.ts";
import type { AuditSink, Authenticator, Authorizer } from "./identity.ts";
import { createConnectionCounter, createGatewayLimits } from "./limits/index.ts";
import { createLoginService, type LoginService } from "./login/index.ts";
import { createGatewayMetrics } from "./metrics.ts";
import { roleTargetReporter } from "./role-targets.ts";
import { DEFAULT_IDLE_TIMEOUT_SEC, serve } from "./server.ts";
import { createAccessCheck, createRevoker, type RecheckScope, type Revoker } from "./sessions/index.ts";
import { loadGatewayTls } from "./tls-files.ts";
import type { UpstreamCredentials } from "./upstream/credentials.ts";
import { eksCredentials } from "./upstream/eks-token.ts";

export interface GatewayOptions {
  config: Config;
  backend: Backend;
  log: Logger;
  metrics?: Registry;
  /** Defaults: EKS tokens from the AWS default chain; kubeport/OIDC tokens; registry roles; registry audit. */
  credentials?: UpstreamCredentials;
  authenticator?: Authenticator;
  authorizer?: Authorizer;
  audit?: AuditSink;
  /** How long a verified token is reused (see auth-cache.ts); default 1 s, 0 = off. */
  authCacheMs?: number;
  /** Idle connection timeout in seconds (not applied to proxied requests); default 120. */
  idleTimeoutSec?: number;
  /** Health check period; default 30 s. */
  healthIntervalMs?: number;
  /** Where recordings go; default: the store audit.sessions_uri names. */
  recordings?: RecordingStore;
  /**
   * The web console (src/console, composed by the CLI so the gateway never imports it): given what
   * the gateway knows, the Hono app to mount at /web. Not mounted when proxy_service.login.console is off.
   */
  web?: (deps: WebDeps) => Hono<GatewayEnv>;
}

/** What the web console is given: the gateway's own auth, registry and cluster view (data one way). */
export interface WebDeps {
  config: Config;
  backend: Backend;
  login: LoginService;
  cache: ClusterCache;
  authorizer: Authorizer;
  clusterStatus(): ClusterHealth[];
  log: Logger;
  /** Where recordings are (undefined when audit.record_session is off). */
  recordings?: RecordingStore;
  /** The gateway's audit sink (the console records who played which recording). */
  audit: AuditSink;
}

export interface Gateway {
  url: string;
  port: number;
  caPem?: string;
  ready(): boolean;
  /** What /readyz answers: ok, or why not (registry down, cluster cache not loaded). */
  readiness(): Promise<{ ok: boolean; message: string }>;
  stop(): Promise<void>;
}

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(unavailable("timed out")), ms)),
  ]);

/**
 * The open streams a registry change can end: a user's, a cluster's, a login session's, or all
 * (roles, locks, signing keys — a stream ends with the key that signed its token —, a snapshot).
 */
function recheckScope(change: CacheChange): RecheckScope | undefined {
  switch (change.kind) {
    case "user":
      return { user: change.name };
    case "kube_cluster":
      return { cluster: change.name };
    case "login_session":
      return { session: change.name };
    case "role":
    case "lock":
    case "signing_key":
    case "*":
      return "all";
    default:
      return undefined;
  }
}

/** Starts the gateway on proxy_service.listen_addr (port 0 allowed; `url` has the real port). */
export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  const { config, backend, log: rootLog, metrics = new Registry() } = opts;
  const log = rootLog.child({ component: "gateway" });
  const limits = createGatewayLimits(config.proxy_service.limits);
  const m = createGatewayMetrics(metrics, { wsBufferedBytes: () => limits.ws.total() });
  const summary = createLogSummary({ log });
  const tls = await loadGatewayTls(config, log);
  let tokenCache: CachingAuthenticator | undefined;
  // Open streams are re-checked on every change the gateway follows (set once the authorizer exists).
  let sessions: Revoker | undefined;
  const cache = createClusterCache({
    backend,
    selectors: config.kubernetes_service.resources.map((r) => r.labels),
    log,
    onChange: (c, change) => {
      m.clusters.set(c.clusters().length);
      const scope = recheckScope(change);
      if (scope) sessions?.recheck(scope);
    },
    onIdentityChange: () => {
      // Now, and once more after the authenticator's own user cache has surely followed the feed.
      tokenCache?.clear();
      setTimeout(() => tokenCache?.clear(), 500).unref?.();
    },
  });
  const closers: (() => unknown)[] = [() => cache.close()];
  const authenticator =
    opts.authenticator ??
    (() => {
      const a = createAuthenticator({
        backend,
        issuer: kubeportIssuer(config.proxy_service),
        oidc: config.proxy_service.oidc,
        log,
        maxTokenTtlMs: config.proxy_service.max_token_ttl,
        // The cache that ends streams on sign-out decides for new requests too (its own watch).
        endedSession: (sid) => cache.endedSession(sid),
      });
      closers.push(() => a.close());
      tokenCache = cachingAuthenticator(a, { ttlMs: opts.authCacheMs });
      return tokenCache;
    })();
  // groups_to_roles targets that are no role: ERROR at start and after each role change.
  let checkRoleTargets: (() => void) | undefined;
  const authorizer =
    opts.authorizer ??
    (await (async () => {
      const a = await createRoleAuthorizer({
        backend,
        log,
        brokenGauge: m.rolesBroken,
        onChange: () => {
          sessions?.recheck("all");
          checkRoleTargets?.();
        },
      }).catch((err) => {
        throw unavailable("cannot load roles from the registry", err);
      });
      closers.push(() => a.close());
      checkRoleTargets = roleTargetReporter(config.proxy_service.oidc, (r) => a.has(r), log);
      checkRoleTargets();
      return a;
    })());
  const audit =
    opts.audit ??
    (() => {
      // The root logger: the sink's lines carry component "audit" once, not "gateway" and "audit".
      const a = createAuditSink({
        backend,
        log: rootLog,
        metrics,
        retention: { maxAgeMs: config.audit.retention, maxEntries: config.audit.max_events },
      });
      closers.push(() => a.close());
      return a;
    })();
  const disconnectExpired = config.proxy_service.disconnect_expired_credentials;
  sessions = createRevoker({
    check: createAccessCheck({
      cache,
      authorizer,
      // The gateway's own authenticator verifies against the registry's users; an injected one has its own.
      registryUsers: opts.authenticator === undefined,
      disconnectExpired,
      clock: systemClock,
    }),
    disconnectExpired,
    log,
    metrics: { open: m.openStreams, revoked: m.streamsRevoked },
  });
  closers.push(() => sessions?.close());
  const credentials = opts.credentials ?? eksCredentials();
  const health = createHealthChecker({
    clusters: () => cache.clusters(),
    credentials,
    log,
    intervalMs: opts.healthIntervalMs,
  });

  let registryOk = true;
  let lastJwks: unknown;
  // SIGTERM: from the first moment of stop(), the load balancer is told to send elsewhere.
  let draining = false;
  const readiness = async () => {
    if (draining) return { ok: false, message: "draining: this gateway is shutting down" };
    registryOk = await withTimeout(backend.ping(), 1000).then(
      () => true,
      () => false,
    );
    m.registryUp.set(registryOk ? 1 : 0);
    if (!registryOk) return { ok: false, message: "degraded: registry unavailable" };
    // Readable but refusing writes (a full disk under SQLite): ctl, tokens and audit fail.
    const refusing = backend.writeProblem?.();
    if (refusing) return { ok: false, message: `degraded: registry refuses writes: ${refusing}` };
    if (!cache.initialised()) return { ok: false, message: "starting: cluster cache not initialised" };
    return { ok: true, message: "ok" };
  };
  // Opened even when audit.record_session is off: a role's record_session option may still ask for
  // recordings on the clusters it reaches (recording-mode.ts). Opening writes nothing.
  const recordings = opts.recordings ?? openRecordingStore(config.audit.sessions_uri);
  const login = createLoginService({ config, backend, cache, authorizer, log });
  const clusterStatus = () => health.status();
  const web =
    opts.web && config.proxy_service.login.console
      ? opts.web({
          config,
          backend,
          login,
          cache,
          authorizer,
          clusterStatus,
          log,
          audit,
          ...(recordings ? { recordings } : {}),
        })
      : undefined;
  const addresses = clientAddresses(config.proxy_service.trusted_proxies);
  // Kept-alive connections per address, and the idle time each gets (limits/connections.ts).
  const connections = createConnectionCounter({
    max: config.proxy_service.limits.max_connections_per_address,
    idleSec: opts.idleTimeoutSec ?? DEFAULT_IDLE_TIMEOUT_SEC,
    exempt: addresses.trusted,
  });
  const app = createApp({
    hostname: config.kubeport.nodename,
    addresses,
    connections,
    ...(recordings
      ? {
          recording: {
            store: recordings,
            mode: config.audit.record_session,
            maxBytes: config.audit.recording_max_bytes,
            onFailure: (message: string) => {
              m.recordingFailures.inc();
              log.warn({ store: recordings.name, err: message }, "session recording failed");
            },
          },
        }
      : {}),
    authenticator,
    authorizer,
    cache,
    credentials,
    audit,
    sessions,
    metrics: m,
    log,
    summary,
    limits,
    readiness,
    jwks: async () => {
      lastJwks = await withTimeout(loadJwks(backend), 2000).catch((err) => {
        if (lastJwks) return lastJwks;
        throw unavailable("signing keys unavailable", err);
      });
      return lastJwks;
    },
    clusterStatus,
    draining: () => draining,
    login,
    ...(web ? { web } : {}),
  });

  if (!(await cache.whenInitialised(5000)))
    log.warn("registry did not answer in 5 s; serving no clusters until it does");
  const { hostname, port } = parseListenAddr(config.proxy_service.listen_addr);
  const server = serve({
    app,
    hostname,
    port,
    tls: { cert: tls.cert, key: tls.key },
    idleTimeoutSec: connections.idleSec,
    ws: limits.ws.caps,
    connections,
    onConnectionLimit: () => m.limited.inc({ limit: "connections" }),
  });
  health.start();
  const url = `https://${reachableHost(hostname)}:${server.port}`;
  log.info({ url, clusters: cache.clusters().length, ca: tls.caPath }, "gateway listening");

  return {
    url,
    port: server.port ?? port,
    ...(tls.caPem ? { caPem: tls.caPem } : {}),
    ready: () => registryOk && cache.initialised(),
    readiness,
    async stop() {
      draining = true;
      await drain({
        server,
        sessions,
        delayMs: config.proxy_service.shutdown_delay,
        graceMs: config.proxy_service.shutdown_grace,
        log,
      });
      health.stop();
      await server.stop(true);
      for (const close of closers.reverse()) await close();
      summary.close();
    },
  };
}
