// `kubeport start` at run time: join check, instance heartbeat, services up, orderly shutdown.
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { Config } from "../config/index.ts";
import { writeFileAtomic } from "../lib/atomic-file.ts";
import { describeError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { ensurePrivateDir, ensurePrivateFile } from "../lib/private-files.ts";
import { type Backend, createBackend, type Instance } from "../registry/index.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { type DiagServer, type Readiness, startDiagServer } from "./diag.ts";
import { checkJoinToken, resolveJoinSecret } from "./join.ts";
import {
  buildServices,
  enabledSections,
  enabledServices,
  type Service,
  type ServiceDeps,
} from "./services.ts";

export const HEARTBEAT_INTERVAL_MS = 10_000;

/** How long after start the compiled binary keeps its start-up JIT policy (see runLocked). */
export const JIT_STARTUP_MS = 10_000;

export interface RunOptions {
  config: Config;
  log: Logger;
  /** Aborting it starts the shutdown. */
  signal: AbortSignal;
  version: string;
  heartbeatMs?: number;
  /** Replaces buildServices (tests). */
  services?: (deps: ServiceDeps) => Service[];
  /** Called once everything is up; `diagUrl` when kubeport.diag_addr is set. */
  onReady?: (info: { id: string; services: string[]; diagUrl?: string }) => void;
}

/**
 * The instance id, stable per data_dir: `<data_dir>/host_uuid`, created on first start. The data
 * dir (registry, generated CA key, instance id) is made private first: created 0700, or fixed with
 * a warning when it is open to other users, or refused with the fix when kubeport may not change it.
 */
export async function instanceId(dataDir: string, log?: Logger): Promise<string> {
  ensurePrivateDir(dataDir, "kubeport.data_dir", log);
  const file = join(dataDir, "host_uuid");
  ensurePrivateFile(file, "kubeport.data_dir", log);
  try {
    const id = (await readFile(file, "utf8")).trim();
    if (id) return id;
  } catch {
    // First start: fall through and create it.
  }
  const id = randomUUID();
  writeFileAtomic(file, `${id}\n`, 0o600);
  return id;
}

/**
 * Runs until `signal` aborts, then stops services (together), deletes this instance's record
 * and closes the backend. Throws (after cleaning up) when the join check or a service start fails.
 */
export async function runServer(opts: RunOptions): Promise<void> {
  // The data_dir holds secrets: private (made, fixed or refused) before anything goes into it.
  ensurePrivateDir(opts.config.kubeport.data_dir, "kubeport.data_dir", opts.log);
  // One process per data_dir, before anything in it is read or made.
  const dirLock = lockDataDir(opts.config.kubeport.data_dir);
  try {
    await runLocked(opts);
  } finally {
    dirLock.release();
  }
}

async function runLocked(opts: RunOptions): Promise<void> {
  const { config, log, signal } = opts;
  const heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_INTERVAL_MS;
  const id = await instanceId(config.kubeport.data_dir, log);
  // One registry for every service; the process's own figures (RSS, CPU, event loop lag) too, when
  // kubeport.diag_addr serves them: nothing else reads them, and registering them reads the heap's
  // statistics at once (tens of ms of a cold start).
  const metrics = new Registry();
  if (config.kubeport.diag_addr) collectDefaultMetrics({ register: metrics });
  const started: Service[] = [];
  let registry: Backend | undefined;
  let phase = "starting";
  const readiness = async (): Promise<Readiness> => {
    if (phase !== "running" || !registry) return { ok: false, message: phase };
    const b = registry;
    const registryUp = await Promise.race([
      b.ping().then(
        () => true,
        () => false,
      ),
      Bun.sleep(1000).then(() => false),
    ]);
    if (!registryUp) return { ok: false, message: "degraded: registry unavailable" };
    for (const svc of started) {
      const r = await svc.ready?.();
      if (r && !r.ok) return { ok: false, message: `${svc.name}: ${r.message}` };
    }
    return { ok: true, message: "ok" };
  };
  // Up before the registry, so a process waiting for Redis answers /healthz and says why it is not ready.
  const diag: DiagServer | undefined = config.kubeport.diag_addr
    ? startDiagServer({ addr: config.kubeport.diag_addr, metrics, readiness, log })
    : undefined;
  if (!diag)
    log.info(
      "kubeport.diag_addr is not set: no /metrics (the gateway's port serves /healthz and /readyz only)",
    );
  let backend: Backend;
  try {
    backend = await createBackend(config.kubeport.storage, { log, signal });
  } catch (err) {
    await diag?.stop();
    throw err;
  }
  registry = backend;
  phase = "starting: services";
  let timer: ReturnType<typeof setInterval> | undefined;
  let inflight: Promise<void> = Promise.resolve();
  let beat = false;
  try {
    // What the HA pair relies on in Redis (min-replicas-to-write, appendonly), named when missing.
    for (const warning of (await backend.checkSettings?.()) ?? []) log.warn(warning);
    if (config.kubeport.join_params) {
      const secret = await resolveJoinSecret(config.kubeport.join_params);
      const token = await checkJoinToken(backend, secret, enabledSections(config));
      log.info({ token: token.metadata.name, roles: token.spec.roles }, "joined with token");
    }
    const services = enabledServices(config);
    const startedAt = new Date().toISOString();
    const heartbeat = async () => {
      const now = Date.now();
      const instance: Instance = {
        kind: "instance",
        version: "v1",
        metadata: { name: id, expires: new Date(now + 3 * heartbeatMs).toISOString() },
        spec: {
          hostname: config.kubeport.nodename,
          version: opts.version,
          services,
          ...(config.discovery_service.enabled
            ? { discovery_group: config.discovery_service.discovery_group }
            : {}),
          started: startedAt,
          last_seen: new Date(now).toISOString(),
          ...(config.proxy_service.enabled ? { public_addr: config.proxy_service.public_addr } : {}),
        },
      };
      await backend.put(instance);
    };
    await heartbeat();
    beat = true;
    timer = setInterval(() => {
      inflight = heartbeat().catch((err) =>
        log.warn({ err: describeError(err) }, "instance heartbeat failed"),
      );
    }, heartbeatMs);

    const build = opts.services ?? buildServices;
    for (const svc of build({ config, backend, log, holder: id, metrics })) {
      if (signal.aborted) break;
      await svc.start();
      started.push(svc);
      log.info({ service: svc.name }, "service started");
    }
    phase = "running";
    log.info({ id, services, storage: backend.name }, "kubeport is running");
    // The compiled binary starts with JavaScriptCore's tier-up thresholds scaled up
    // (--compile-jit-policy): run-once start-up code stays in the interpreter instead of being
    // compiled. The first requests a fresh process serves are start-up work too (first token
    // verified, first EKS token signed); after them, the normal policy.
    const jitNormal = setTimeout(() => Bun.unsafe.setJITPolicy?.(1), JIT_STARTUP_MS);
    jitNormal.unref?.();
    opts.onReady?.({ id, services, ...(diag ? { diagUrl: diag.url } : {}) });
    await waitForAbort(signal);
    log.info("shutting down");
  } finally {
    phase = "stopping";
    if (timer) clearInterval(timer);
    // A heartbeat still in flight would re-create the record after the delete below.
    await inflight;
    // All at once: the gateway drains its open streams (up to shutdown_grace) while discovery
    // hands the leader lock over at once.
    await Promise.all(
      started
        .reverse()
        .map((svc) =>
          svc
            .stop()
            .catch((err) =>
              log.error({ service: svc.name, err: describeError(err) }, "service did not stop cleanly"),
            ),
        ),
    );
    if (beat)
      await backend
        .delete("instance", id)
        .catch((err) => log.warn({ err: describeError(err) }, "could not delete instance record"));
    await backend.close().catch(() => {});
    await diag?.stop();
  }
}

const waitForAbort = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });

export type { Backend };
