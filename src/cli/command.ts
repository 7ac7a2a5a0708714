// The command module shape every `kubeport` command implements, and the context it runs with.
import type { Config } from "../config/index.ts";
import type { Logger } from "../lib/log.ts";
import type { Backend } from "../registry/index.ts";

/** One option, as node:util parseArgs takes it, plus help text. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  default?: string | boolean;
  /** Shown in --help. */
  description: string;
  /** Placeholder in --help, e.g. FILE. */
  valueName?: string;
  /** The values shell completion offers (-o json|yaml|wide|name). */
  choices?: readonly string[];
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/**
 * A command: a leaf with `run`, or a group with `subcommands` (both allowed: run handles the bare group).
 * A group's `options` are inherited by every subcommand below it (e.g. ctl's --config).
 */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Positional part of the usage line, e.g. "KIND [NAME]". */
  usage?: string;
  /** Words shell completion offers for a positional argument (ctl get's kinds). */
  completions?: readonly string[];
  /** Extra help text (examples, notes) printed after the options. */
  help?: string;
  options?: Record<string, OptionSpec>;
  subcommands?: Command[];
  /**
   * Only reads the registry: a SQLite file that does not exist is an error (wrong -c, most likely)
   * instead of an empty registry created on the spot.
   */
  readsOnly?: boolean;
  /** Returns the exit code (default 0). Throw UsageError for bad arguments (exit 2). */
  run?(ctx: CommandContext): Promise<number | void>;
}

export interface CommandContext {
  /** Parsed option values (own and inherited) and positionals. */
  values: OptionValues;
  positionals: string[];
  /** Writes to stdout / stderr (text as is; add your own newline). */
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  /** Aborted by in-process callers (tests) to stop `start`; signals are handled by the commands themselves. */
  signal: AbortSignal;
  /** Logger to stderr (warn level for admin commands). */
  log: Logger;
  /** The config named by --config / $KUBEPORT_CONFIG / /etc/kubeport.yaml, loaded once. */
  config(): Promise<Config>;
  /** A backend opened from that config's storage, once; closed after the command returns. */
  backend(): Promise<Backend>;
  /** The full command path, e.g. "kubeport ctl tokens add", for messages. */
  commandPath: string;
}
