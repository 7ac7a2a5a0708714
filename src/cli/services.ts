// The services `kubeport start` runs, built from the config. Discovery and the gateway plug in here.

import { Registry } from "prom-client";
import { type Config, configWarnings } from "../config/index.ts";
import { createConsole } from "../console/index.ts";
import type { createDiscoveryService as CreateDiscoveryService } from "../discovery/index.ts";
import { createGateway, type Gateway } from "../gateway/index.ts";
import { unavailable } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { Backend } from "../registry/index.ts";
import type { Readiness } from "./diag.ts";

/** A long-running part of the process; stopped in reverse start order. */
export interface Service {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** For kubeport.diag_addr's /readyz; a service without it is ready once started. */
  ready?(): Promise<Readiness>;
}

export interface ServiceDeps {
  config: Config;
  backend: Backend;
  log: Logger;
  /** This instance's id: the leader-lock holder name. */
  holder: string;
  /** One Prometheus registry for every service of the process, served on kubeport.diag_addr. */
  metrics?: Registry;
}

/** Short names of the enabled services, as recorded on the instance resource. */
export function enabledServices(config: Config): string[] {
  const out: string[] = [];
  if (config.discovery_service.enabled) out.push("discovery");
  if (config.kubernetes_service.enabled) out.push("kube");
  if (config.proxy_service.enabled) out.push("proxy");
  return out;
}

/** Config section names of the enabled services (for join-token role checks). */
export function enabledSections(config: Config): string[] {
  return (["discovery_service", "kubernetes_service", "proxy_service"] as const).filter(
    (s) => config[s].enabled,
  );
}

/** The services to run, in start order: discovery first, so the gateway's first snapshot is fresher. */
export function buildServices({
  config,
  backend,
  log,
  holder,
  metrics = new Registry(),
}: ServiceDeps): Service[] {
  const list: Service[] = [];
  for (const w of configWarnings(config)) log.warn({ key: w.path }, `config: ${w.path}: ${w.message}`);
  if (config.discovery_service.enabled) {
    // Loaded when discovery starts: its AWS SDK clients took ~200 ms of a start that runs without it.
    let discovery: ReturnType<typeof CreateDiscoveryService> | undefined;
    list.push({
      name: "discovery",
      start: async () => {
        const { createDiscoveryService } = await import("../discovery/index.ts");
        discovery = createDiscoveryService({
          config,
          backend,
          log: log.child({ service: "discovery" }),
          holder,
          metrics,
        });
        await discovery.start();
      },
      stop: async () => {
        await discovery?.stop();
      },
    });
  }
  if (config.proxy_service.enabled || config.kubernetes_service.enabled) {
    let gateway: Gateway | undefined;
    list.push({
      name: "gateway",
      start: async () => {
        // createGateway logs "gateway listening" with its URL and CA itself.
        try {
          gateway = await createGateway({
            config,
            backend,
            log: log.child({ service: "gateway" }),
            metrics,
            web: (deps) => createConsole(deps),
          });
        } catch (err) {
          throw explainGatewayStartError(err, config);
        }
        // An empty list is valid (serve nothing yet) but is almost always a forgotten section.
        if (config.kubernetes_service.resources.length === 0) {
          log.warn(
            'kubernetes_service.resources is empty: the gateway serves no clusters (add - labels: { "*": "*" } to serve every kube_cluster)',
          );
        }
      },
      stop: async () => {
        await gateway?.stop();
      },
      ready: async () => gateway?.readiness() ?? { ok: false, message: "starting" },
    });
  }
  return list;
}

/**
 * Start failures named by the config key to change: Bun's listen error names only the port.
 * (Certificate and key files are checked, and named, where they are read: lib/pem-files.ts.)
 */
export function explainGatewayStartError(err: unknown, config: Config): unknown {
  const e = err as { code?: string; syscall?: string };
  if (e.syscall === "listen" || e.code === "EADDRINUSE" || e.code === "EADDRNOTAVAIL") {
    return unavailable(`proxy_service.listen_addr ${config.proxy_service.listen_addr}: cannot listen`, err);
  }
  return err;
}
