// `kubeport version`: kubeport's version (package.json), the Bun runtime, and the commit if built with one.
import { stringOpt } from "../args.ts";
import type { Command } from "../command.ts";
import { parseFormat, renderData } from "../output.ts";
import { packageVersion } from "../package-version.ts" with { type: "macro" };

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
    format: { type: "string", valueName: "FMT", description: "text, yaml or json", default: "text" },
  },
  async run(ctx) {
    const info = { version: VERSION, bun: Bun.version, ...(buildCommit() ? { commit: buildCommit() } : {}) };
    const format = parseFormat(stringOpt(ctx.values, "format"));
    if (format !== "text") ctx.out(renderData(format, info));
    else ctx.out(`kubeport v${info.version} bun v${info.bun}${info.commit ? ` git:${info.commit}` : ""}\n`);
  },
};
