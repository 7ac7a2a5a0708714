// `kubeport ctl rm KIND/NAME`: delete one resource.
import { badParameter, notFound } from "../../lib/errors.ts";
import type { Backend, User } from "../../registry/index.ts";
import { UsageError } from "../args.ts";
import type { Command, CommandContext } from "../command.ts";
import { parseKind } from "../kinds.ts";

export const rmCommand: Command = {
  name: "rm",
  summary: "Delete a resource.",
  usage: "KIND/NAME",
  options: {
    force: {
      type: "boolean",
      description:
        "delete a role although users or groups_to_roles still give it (they are then refused every cluster)",
    },
  },
  help: "Examples:\n  kubeport ctl rm kube_cluster/prod-eks\n  kubeport ctl rm lock/NAME        (lifts a lock; names: kubeport ctl get lock)\n  kubeport ctl rm role/NAME        (refused while someone holds it; --force)",
  async run(ctx) {
    const [ref, ...rest] = ctx.positionals;
    if (!ref) throw new UsageError("missing KIND/NAME");
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const [kindWord, name] = ref.split("/", 2);
    if (!kindWord || !name) throw new UsageError(`"${ref}" is not KIND/NAME`);
    const kind = parseKind(kindWord);
    const backend = await ctx.backend();
    const holders = kind === "role" ? await roleHolders(ctx, backend, name) : [];
    if (holders.length > 0 && !ctx.values.force)
      throw badParameter(
        `role "${name}" is still given to ${holders.join(", ")}: a role that does not exist denies every cluster to those who hold it. Take it off them first (kubeport ctl users update NAME --roles …, groups_to_roles), or delete it anyway with --force`,
      );
    if (!(await backend.delete(kind, name))) throw notFound(`${kind} "${name}" not found`);
    ctx.out(`${kind} "${name}" has been deleted\n`);
    if (holders.length > 0)
      ctx.err(
        `warning: ${holders.join(", ")} still hold role "${name}": they are refused every cluster until it exists again or is taken off them\n`,
      );
  },
};

/** Who is given role `name`: kubeport users holding it, and groups_to_roles entries mapping to it. */
async function roleHolders(ctx: CommandContext, backend: Backend, name: string): Promise<string[]> {
  const users = ((await backend.list("user")) as User[])
    .filter((u) => u.spec.roles.includes(name))
    .map((u) => `user "${u.metadata.name}"`);
  const groups = (await ctx.config()).proxy_service.oidc.flatMap((o) =>
    Object.entries(o.groups_to_roles)
      .filter(([, roles]) => roles.includes(name))
      .map(([group]) => `group "${group}" of ${o.issuer_url} (groups_to_roles)`),
  );
  return [...users, ...groups];
}
