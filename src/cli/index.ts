// The kubeport CLI: routes argv through the command table, runs the command, maps errors to exit codes.
import { existsSync } from "node:fs";
import { type Config, configPath, loadConfig, type StorageConfig } from "../config/index.ts";
import { formatDuration } from "../lib/duration.ts";
import { describeError, isKind, KubeportError, notFound, unavailable } from "../lib/errors.ts";
import { createLogger, type Logger, type LogLevel } from "../lib/log.ts";
import { ProblemsError } from "../lib/problems.ts";
import { type Backend, createBackend } from "../registry/index.ts";
import { route, stringOpt, UsageError } from "./args.ts";
import type { Command, CommandContext } from "./command.ts";
import { commands } from "./commands/index.ts";
import { renderHelp, usageLine } from "./help.ts";

export { parseKeyValues, parseList, stringOpt, UsageError } from "./args.ts";
export type { Command, CommandContext, OptionSpec, OptionValues } from "./command.ts";
export { age, type Format, formatLabels, parseFormat, renderData, renderTable } from "./output.ts";

export interface CliIo {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  env?: Record<string, string | undefined>;
  /**
   * Stops long-running commands (tests abort it). From main.ts nothing aborts it: start, demo and
   * audit tail -f install their own SIGINT/SIGTERM handlers (start needs a second-signal exit).
   */
  signal?: AbortSignal;
  /** Level for the admin-command logger; default warn. */
  logLevel?: LogLevel;
  /** How long admin commands wait for an unreachable registry; default REGISTRY_WAIT_MS. */
  registryWaitMs?: number;
}

export const REGISTRY_WAIT_MS = 10_000;

/** Exit status of a write whose outcome is not confirmed durable (kind "uncertain"): check, then retry. */
export const EXIT_UNCERTAIN = 3;

/** Where the registry is, for messages: the Redis URL without its password, the Sentinels or the Cluster nodes. */
export function storageTarget(storage: StorageConfig): string {
  if (storage.type === "sqlite") return `sqlite ${storage.path}`;
  if (storage.url) {
    try {
      const u = new URL(storage.url);
      if (u.password) u.password = "***";
      return `redis ${u.toString()}`;
    } catch {
      return "redis";
    }
  }
  if (storage.sentinels) return `redis sentinels ${storage.sentinels.join(",")} (master ${storage.name})`;
  return `redis cluster ${(storage.cluster_nodes ?? []).join(",")}`;
}

/** The root of the command tree. */
export const root: Command = {
  name: "kubeport",
  summary: "EKS auto-discovery and a kubectl gateway in one binary.",
  subcommands: commands,
};

/** Throws when a SQLite registry file is missing, so a read does not create an empty one (and its data_dir). */
function requireSqliteFile(storage: StorageConfig): void {
  if (storage.type !== "sqlite" || storage.path === ":memory:" || existsSync(storage.path)) return;
  throw notFound(
    `no registry at ${storage.path} (kubeport start creates it; is -c the config kubeport start uses?)`,
  );
}

/**
 * Runs one invocation. Returns the exit code: 0 ok, 1 runtime error (one line on stderr),
 * 2 usage or config error (message and usage, or every config problem), 3 a write not confirmed
 * durable (the error, and how to check before running it again).
 */
export async function runCli(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const out = io.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = io.stderr ?? ((t: string) => void process.stderr.write(t));
  const env = io.env ?? process.env;
  let chain: Command[] = [root];
  let backend: Backend | undefined;
  // `kubeport --version` is `kubeport version` (as kubectl and tsh take it).
  if (argv[0] === "--version") argv = ["version", ...argv.slice(1)];
  try {
    const routed = route(root, argv);
    chain = routed.chain;
    const cmd = chain.at(-1)!;
    if (routed.help) {
      out(renderHelp(chain));
      return 0;
    }
    if (!cmd.run) {
      err(`error: missing command\n\n${renderHelp(chain)}`);
      return 2;
    }
    // A command without a usage takes no arguments: a stray word is a mistake, not something to ignore.
    if (!cmd.usage && routed.positionals.length > 0) {
      const e = new UsageError(`unexpected argument "${routed.positionals[0]}"`);
      e.chain = chain;
      throw e;
    }
    let log: Logger | undefined;
    let config: Promise<Config> | undefined;
    let backendP: Promise<Backend> | undefined;
    const ctx: CommandContext = {
      values: routed.values,
      positionals: routed.positionals,
      out,
      err,
      env,
      signal: io.signal ?? new AbortController().signal,
      get log() {
        log ??= createLogger({ level: io.logLevel ?? "warn" });
        return log;
      },
      commandPath: chain.map((c) => c.name).join(" "),
      config: () => (config ??= loadConfig(configPath(stringOpt(routed.values, "config"), env), { env })),
      backend: () =>
        (backendP ??= ctx.config().then(async (c) => {
          if (cmd.readsOnly) requireSqliteFile(c.kubeport.storage);
          // Admin commands give an unreachable Redis a while, then fail (start retries until stopped instead).
          const waitMs = io.registryWaitMs ?? REGISTRY_WAIT_MS;
          const timeout = AbortSignal.timeout(waitMs);
          try {
            backend = await createBackend(c.kubeport.storage, {
              log: ctx.log,
              signal: AbortSignal.any([ctx.signal, timeout]),
            });
          } catch (e) {
            // Bare, the timeout reads "The operation timed out." without saying what did.
            if (timeout.aborted && !ctx.signal.aborted) {
              throw unavailable(
                `registry ${storageTarget(c.kubeport.storage)} not reachable within ${formatDuration(waitMs)}`,
              );
            }
            throw e;
          }
          return backend;
        })),
    };
    return (await cmd.run(ctx)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      chain = e.chain ?? chain;
      err(
        `error: ${e.message}\n${usageLine(chain)}\nRun "${chain.map((c) => c.name).join(" ")} --help" for more.\n`,
      );
      return 2;
    }
    if (e instanceof ProblemsError) {
      // The config file or a `ctl create` file: every problem, one a line (exit 2, as a usage error).
      err(`error: invalid ${e.noun} ${e.message}\n`);
      return 2;
    }
    const message = `error: ${describeError(e).replace(/\s*\n\s*/g, "; ")}\n`;
    // A command's own hint (what to do next) replaces the generic one.
    const hint = e instanceof KubeportError && e.hint ? `${e.hint}\n` : "";
    if (isKind(e, "uncertain")) {
      // Never "done": the change may be there or not, or may not outlive a failover.
      const check = e.subject ? `"kubeport ctl get ${e.subject.kind} ${e.subject.name}"` : "kubeport ctl get";
      err(
        message +
          (hint ||
            `The change is not confirmed: check with ${check} whether it is there, and run the command again if it is not.\n`),
      );
      return EXIT_UNCERTAIN;
    }
    err(message + hint);
    return 1;
  } finally {
    await backend?.close().catch(() => {});
  }
}
