// `kubeport start` at run time: join check, instance heartbeat, services up, orderly shutdown.
import { randomUUID } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "../config/index.ts";
import { writeFileAtomic } from "../lib/atomic-file.ts";
import { describeError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { type Backend, createBackend, type Instance } from "../registry/index.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { checkJoinToken, resolveJoinSecret } from "./join.ts";
import {
  buildServices,
  enabledSections,
  enabledServices,
  type Service,
  type ServiceDeps,
} from "./services.ts";

export const HEARTBEAT_INTERVAL_MS = 10_000;

export interface RunOptions {
  config: Config;
  log: Logger;
  /** Aborting it starts the shutdown. */
  signal: AbortSignal;
  version: string;
  heartbeatMs?: number;
  /** Replaces buildServices (tests). */
  services?: (deps: ServiceDeps) => Service[];
  /** Called once everything is up. */
  onReady?: (info: { id: string; services: string[] }) => void;
}

/** The instance id, stable per data_dir: `<data_dir>/host_uuid`, created on first start. */
export async function instanceId(dataDir: string): Promise<string> {
  const file = join(dataDir, "host_uuid");
  try {
    const id = (await readFile(file, "utf8")).trim();
    if (id) return id;
  } catch {
    // First start: fall through and create it.
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const id = randomUUID();
  writeFileAtomic(file, `${id}\n`, 0o600);
  return id;
}

/**
 * Runs until `signal` aborts, then stops services (together), deletes this instance's record
 * and closes the backend. Throws (after cleaning up) when the join check or a service start fails.
 */
export async function runServer(opts: RunOptions): Promise<void> {
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
  const id = await instanceId(config.kubeport.data_dir);
  const backend = await createBackend(config.kubeport.storage, { log, signal });
  const started: Service[] = [];
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
    for (const svc of build({ config, backend, log, holder: id })) {
      if (signal.aborted) break;
      await svc.start();
      started.push(svc);
      log.info({ service: svc.name }, "service started");
    }
    log.info({ id, services, storage: backend.name }, "kubeport is running");
    opts.onReady?.({ id, services });
    await waitForAbort(signal);
    log.info("shutting down");
  } finally {
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
  }
}

const waitForAbort = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });

export type { Backend };
