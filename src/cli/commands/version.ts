// `kubeport version`: kubeport's version (package.json), the Bun runtime, and the commit if built with one.
import { packageVersion } from "../../lib/package-version.ts" with { type: "macro" };
import { stringOpt, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { renderOutput } from "../output.ts";

// Set at build time: bun build --define KUBEPORT_COMMIT='"abc1234"'.
declare const KUBEPORT_COMMIT: string;

/** The commit embedded at build time, if any. */
export function buildCommit(): string | undefined {
  return typeof KUBEPORT_COMMIT === "string" && KUBEPORT_COMMIT !== "" ? KUBEPORT_COMMIT : undefined;
}

export const VERSION: string = packageVersion();

export const versionCommand: Command = {
  name: "version",
  summary: "Print the version.",
  options: {
    output: {
      type: "string",
      short: "o",
      valueName: "FORMAT",
      description: "json or yaml, as kubectl version -o",
    },
    format: { type: "string", valueName: "FORMAT", description: "the same as -o (text = the one line)" },
  },
  async run(ctx) {
    const info = { version: VERSION, bun: Bun.version, ...(buildCommit() ? { commit: buildCommit() } : {}) };
    const given = stringOpt(ctx.values, "output");
    const raw = given ?? stringOpt(ctx.values, "format") ?? "text";
    if (!["text", "yaml", "json"].includes(raw.toLowerCase()))
      throw new UsageError(
        `${given !== undefined ? "-o" : "--format"}: "${raw}" is not one of: text, yaml, json`,
      );
    const out = raw.toLowerCase();
    if (out === "json" || out === "yaml") ctx.out(renderOutput(out, info));
    else ctx.out(`kubeport v${info.version} bun v${info.bun}${info.commit ? ` git:${info.commit}` : ""}\n`);
  },
};
