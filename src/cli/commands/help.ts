// `kubeport help [COMMAND…]`: the same text as `kubeport COMMAND… --help`.
import { route } from "../args.ts";
import type { Command } from "../command.ts";
import { renderHelp } from "../help.ts";

export const helpCommand: Command = {
  name: "help",
  summary: "Show help for a command.",
  usage: "[COMMAND…]",
  async run(ctx) {
    // Imported lazily: the root lives in ../index.ts, which imports this table.
    const { root } = await import("../index.ts");
    const { chain } = route(root, ctx.positionals);
    ctx.out(renderHelp(chain));
  },
};
