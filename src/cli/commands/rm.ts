// `kubeport ctl rm KIND/NAME`: delete one resource.
import { notFound } from "../../lib/errors.ts";
import { isKind, KINDS } from "../../registry/index.ts";
import { UsageError } from "../args.ts";
import type { Command } from "../command.ts";

export const rmCommand: Command = {
  name: "rm",
  summary: "Delete a resource.",
  usage: "KIND/NAME",
  help: "Example:\n  kubeport ctl rm kube_cluster/prod-eks",
  async run(ctx) {
    const [ref, ...rest] = ctx.positionals;
    if (!ref) throw new UsageError("missing KIND/NAME");
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const [kind, name] = ref.split("/", 2);
    if (!kind || !name) throw new UsageError(`"${ref}" is not KIND/NAME`);
    if (!isKind(kind)) throw new UsageError(`unknown kind "${kind}" (known: ${KINDS.join(", ")})`);
    if (!(await (await ctx.backend()).delete(kind, name))) throw notFound(`${kind} "${name}" not found`);
    ctx.out(`${kind} "${name}" has been deleted\n`);
  },
};
