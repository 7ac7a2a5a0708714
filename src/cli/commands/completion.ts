// `kubeport completion bash|zsh|fish`: the shell's completion script, generated from the command table.
import { UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { completionScript, SHELLS, type Shell } from "../completion.ts";

export const completionCommand: Command = {
  name: "completion",
  summary: "Print the shell completion script (bash, zsh or fish).",
  usage: "bash|zsh|fish",
  completions: SHELLS,
  help: [
    "Examples:",
    "  source <(kubeport completion bash)                               # this shell",
    "  kubeport completion bash > /etc/bash_completion.d/kubeport        # every bash",
    '  kubeport completion zsh > "${fpath[1]}/_kubeport"                 # zsh (then a new shell)',
    "  kubeport completion fish > ~/.config/fish/completions/kubeport.fish",
  ].join("\n"),
  async run(ctx) {
    const [shell, ...rest] = ctx.positionals;
    if (!shell) throw new UsageError(`missing the shell: ${SHELLS.join(", ")}`);
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (!(SHELLS as readonly string[]).includes(shell))
      throw new UsageError(`"${shell}" is not a shell kubeport completes: ${SHELLS.join(", ")}`);
    // Imported lazily: the root lives in ../index.ts, which imports this table.
    const { root } = await import("../index.ts");
    ctx.out(completionScript(root, shell as Shell));
  },
};
