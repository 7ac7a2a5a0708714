// `kubeport start [-c FILE]`: run the services the config enables until SIGTERM/SIGINT.
import { type Config, ConfigError } from "../../config/index.ts";
import { type Egress, processEgress } from "../../lib/egress/index.ts";
import { createLogger, flushLogs } from "../../lib/log.ts";
import type { Command } from "../command.ts";
import { runServer } from "../runtime.ts";
import { VERSION } from "./version.ts";

/** How long shutdown may take beyond the gateway's drain (shutdown_delay + shutdown_grace). */
export const SHUTDOWN_MARGIN_MS = 8_000;

/** How long after SIGTERM the process exits anyway: the gateway's drain, plus the margin. */
export function shutdownDeadlineMs(config: Config): number {
  const gateway = config.proxy_service.enabled || config.kubernetes_service.enabled;
  return (
    (gateway ? config.proxy_service.shutdown_delay + config.proxy_service.shutdown_grace : 0) +
    SHUTDOWN_MARGIN_MS
  );
}

export const startCommand: Command = {
  name: "start",
  summary: "Start kubeport: the services enabled in the config.",
  options: {
    config: {
      type: "string",
      short: "c",
      valueName: "FILE",
      description: "config file (default $KUBEPORT_CONFIG or /etc/kubeport.yaml)",
    },
  },
  help: [
    "The config is read from -c FILE, else $KUBEPORT_CONFIG, else /etc/kubeport.yaml (see `kubeport configure`).",
    "SIGTERM or SIGINT drains the gateway (proxy_service.shutdown_delay, then shutdown_grace for open",
    "streams), releases the discovery lock at once and removes this instance from the inventory;",
    "a second signal exits at once.",
  ].join("\n"),
  async run(ctx) {
    const config = await ctx.config();
    // HTTPS_PROXY / HTTP_PROXY / NO_PROXY are read once, here, so a bad value stops the start (exit 2).
    let egress: Egress;
    try {
      egress = processEgress();
    } catch (err) {
      throw new ConfigError("environment", [{ path: "", message: (err as Error).message }]);
    }
    const log = createLogger({
      level: config.kubeport.log.severity,
      format: config.kubeport.log.format,
      buffered: true,
    });
    if (egress.https || egress.http)
      log.info({ egress: egress.describe() }, "outbound connections use a proxy");
    const stop = new AbortController();
    const onParent = () => stop.abort();
    ctx.signal.addEventListener("abort", onParent, { once: true });
    let signals = 0;
    let deadline: ReturnType<typeof setTimeout> | undefined;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        log.warn({ signal: sig }, "second signal: exiting now");
        process.exit(1);
      }
      log.info({ signal: sig }, "signal received");
      deadline = setTimeout(() => {
        log.error("shutdown took too long: exiting");
        process.exit(1);
      }, shutdownDeadlineMs(config));
      deadline.unref?.();
      stop.abort();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    try {
      await runServer({ config, log, signal: stop.signal, version: VERSION });
      return 0;
    } catch (err) {
      // Stopped while still starting (e.g. waiting for Redis): that is a clean exit.
      if (stop.signal.aborted) return 0;
      throw err;
    } finally {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      ctx.signal.removeEventListener("abort", onParent);
      if (deadline) clearTimeout(deadline);
      // The lines that led here go out before an error is printed, and before any late signal.
      flushLogs();
    }
  },
};
