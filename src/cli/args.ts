// Argument parsing on node:util parseArgs: routing through command groups, and usage errors.
import { parseArgs } from "node:util";
import type { Command, OptionSpec, OptionValues } from "./command.ts";

/** Bad arguments: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  /** The command chain the error belongs to, when routing got that far (for the usage line). */
  chain?: Command[];
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const HELP_OPTION: OptionSpec = {
  type: "boolean",
  short: "h",
  description: "show help for this command",
};

export interface Routed {
  /** The chain from the root to the selected command. */
  chain: Command[];
  values: OptionValues;
  positionals: string[];
  help: boolean;
}

/** Options a command sees: its own, its ancestors' (inherited), and --help. */
export function effectiveOptions(chain: readonly Command[]): Record<string, OptionSpec> {
  const out: Record<string, OptionSpec> = {};
  for (const c of chain) Object.assign(out, c.options ?? {});
  out.help = HELP_OPTION;
  return out;
}

type ParseArgsOptions = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

const toParseArgs = (opts: Record<string, OptionSpec>): ParseArgsOptions =>
  Object.fromEntries(
    Object.entries(opts).map(([name, o]) => [
      name,
      Object.fromEntries(
        Object.entries({ type: o.type, short: o.short, multiple: o.multiple, default: o.default }).filter(
          ([, x]) => x !== undefined,
        ),
      ),
    ]),
  ) as unknown as ParseArgsOptions;

/**
 * Walks argv down the command tree: at each group, the first positional (options of the group
 * chain are skipped with their values) names the subcommand. The selected command's argv is then
 * parsed strictly; unknown options or a missing/unknown subcommand throw UsageError.
 */
export function route(root: Command, argv: readonly string[]): Routed {
  const chain: Command[] = [root];
  let args = [...argv];
  for (;;) {
    const cmd = chain.at(-1)!;
    if (!cmd.subcommands || cmd.subcommands.length === 0) break;
    const { tokens } = parseArgs({
      args,
      options: toParseArgs(effectiveOptions(chain)),
      strict: false,
      allowPositionals: true,
      tokens: true,
    });
    const first = tokens.find((t) => t.kind === "positional" || t.kind === "option-terminator");
    if (!first || first.kind !== "positional") break;
    const sub = cmd.subcommands.find((c) => c.name === first.value);
    if (!sub) {
      if (cmd.run) break;
      const e = new UsageError(
        `unknown command "${first.value}" for "${chain.map((c) => c.name).join(" ")}"`,
      );
      e.chain = chain;
      throw e;
    }
    chain.push(sub);
    args = [...args.slice(0, first.index), ...args.slice(first.index + 1)];
  }
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: toParseArgs(effectiveOptions(chain)),
      strict: true,
      allowPositionals: true,
    }) as typeof parsed;
  } catch (err) {
    // Still honour --help next to a bad flag.
    if (args.includes("--help") || args.includes("-h"))
      return { chain, values: {}, positionals: [], help: true };
    const e = new UsageError(
      (err as Error).message.split("\n")[0]!.replace(/\. To specify a positional argument.*$/, ""),
    );
    e.chain = chain;
    throw e;
  }
  return { chain, values: parsed.values, positionals: parsed.positionals, help: parsed.values.help === true };
}

/** Splits "a=b,c=d" into a map; throws UsageError naming the flag on a malformed pair. */
export function parseKeyValues(text: string, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new UsageError(`--${flag}: "${part}" is not key=value`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** Splits "a,b" into a list, dropping empty entries. */
export const parseList = (text: string): string[] =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** A string option's value (the last one when repeated). */
export function stringOpt(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  if (Array.isArray(v)) return v.at(-1);
  return typeof v === "string" ? v : undefined;
}
