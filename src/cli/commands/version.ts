// `kubeport version`: kubeport's version (package.json), the Bun runtime, and the commit if built with one.
import type { Command } from "../command.ts";
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
  options: { format: { type: "string", valueName: "FMT", description: "text or json", default: "text" } },
  async run(ctx) {
    const info = { version: VERSION, bun: Bun.version, ...(buildCommit() ? { commit: buildCommit() } : {}) };
    if (ctx.values.format === "json") ctx.out(`${JSON.stringify(info)}\n`);
    else ctx.out(`kubeport v${info.version} bun v${info.bun}${info.commit ? ` git:${info.commit}` : ""}\n`);
  },
};
