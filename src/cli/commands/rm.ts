// `kubeport ctl rm KIND/NAME`: delete one resource.
import { notFound } from "../../lib/errors.ts";
import { UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { parseKind } from "../kinds.ts";

export const rmCommand: Command = {
  name: "rm",
  summary: "Delete a resource.",
  usage: "KIND/NAME",
  help: "Examples:\n  kubeport ctl rm kube_cluster/prod-eks\n  kubeport ctl rm lock/NAME        (lifts a lock; names: kubeport ctl get lock)",
  async run(ctx) {
    const [ref, ...rest] = ctx.positionals;
    if (!ref) throw new UsageError("missing KIND/NAME");
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const [kindWord, name] = ref.split("/", 2);
    if (!kindWord || !name) throw new UsageError(`"${ref}" is not KIND/NAME`);
    const kind = parseKind(kindWord);
    if (!(await (await ctx.backend()).delete(kind, name))) throw notFound(`${kind} "${name}" not found`);
    ctx.out(`${kind} "${name}" has been deleted\n`);
  },
};
