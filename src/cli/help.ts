// --help text for any command: usage line, subcommands, options (own and inherited).
import { effectiveOptions } from "./args.ts";
import type { Command } from "./command.ts";

/** The usage line, e.g. "Usage: kubeport ctl tokens add [options]". */
export function usageLine(chain: readonly Command[]): string {
  const cmd = chain.at(-1)!;
  const path = chain.map((c) => c.name).join(" ");
  const sub = cmd.subcommands?.length ? " COMMAND" : "";
  return `Usage: ${path}${sub} [options]${cmd.usage ? ` ${cmd.usage}` : ""}`;
}

/** Full help for the last command of `chain`. */
export function renderHelp(chain: readonly Command[]): string {
  const cmd = chain.at(-1)!;
  const out = [usageLine(chain), "", cmd.summary];
  if (cmd.subcommands?.length) {
    out.push("", "Commands:");
    const w = Math.max(...cmd.subcommands.map((c) => c.name.length));
    for (const c of cmd.subcommands) out.push(`  ${c.name.padEnd(w)}  ${c.summary}`);
  }
  const opts = Object.entries(effectiveOptions(chain));
  out.push("", "Options:");
  const labels = opts.map(
    ([name, o]) =>
      `${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? ` ${o.valueName ?? "VALUE"}` : ""}`,
  );
  const w = Math.max(...labels.map((l) => l.length));
  opts.forEach(([, o], i) => {
    out.push(
      `  ${labels[i]!.padEnd(w)}  ${o.description}${o.default !== undefined && o.default !== false ? ` (default ${o.default})` : ""}`,
    );
  });
  if (cmd.help) out.push("", cmd.help.trimEnd());
  if (cmd.subcommands?.length)
    out.push("", `Run "${chain.map((c) => c.name).join(" ")} COMMAND --help" for more about a command.`);
  return `${out.join("\n")}\n`;
}
