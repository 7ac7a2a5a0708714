// The services `kubeport start` runs, built from the config. Discovery and the gateway plug in here.
import type { Config } from "../config/index.ts";
import type { Logger } from "../lib/log.ts";
import type { Backend } from "../registry/index.ts";

/** A long-running part of the process; stopped in reverse start order. */
export interface Service {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceDeps {
  config: Config;
  backend: Backend;
  log: Logger;
  /** This instance's id: the leader-lock holder name. */
  holder: string;
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
  return (["discovery_service", "kubernetes_service", "proxy_service"] as const).filter((s) => config[s].enabled);
}

/** The services to run, in start order. */
export function buildServices({ config, backend, log, holder }: ServiceDeps): Service[] {
  const list: Service[] = [];
  if (config.discovery_service.enabled) {
    // ── SLOT: discovery ── the coordinator wires createDiscoveryService (import from "../discovery"):
    //   const d = createDiscoveryService({ config, backend, log: log.child({ service: "discovery" }), holder });
    //   list.push({ name: "discovery", start: () => d.start(), stop: () => d.stop() });
    list.push(notWired("discovery", log));
  }
  if (config.proxy_service.enabled || config.kubernetes_service.enabled) {
    // ── SLOT: gateway ── the coordinator wires createGateway (import from "../gateway"):
    //   let gw: Awaited<ReturnType<typeof createGateway>> | undefined;
    //   list.push({ name: "gateway", start: async () => { gw = await createGateway({ config, backend, log: log.child({ service: "gateway" }) }); },
    //               stop: async () => { await gw?.stop(); } });
    list.push(notWired("gateway", log));
  }
  void backend;
  void holder;
  return list;
}

/** Placeholder until a slot above is wired: says so once and does nothing. */
function notWired(name: string, log: Logger): Service {
  return {
    name,
    start: async () => log.warn({ service: name }, `${name} is enabled in the config but not wired into this build`),
    stop: async () => {},
  };
}
