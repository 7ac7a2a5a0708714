// `kubeport ctl users add|update|ls|rm`: kubeport users and the roles they hold.
import { notFound } from "../../lib/errors.ts";
import type { Backend, User } from "../../registry/index.ts";
import { parseList, stringOpt, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../command.ts";
import { age, parseFormat, renderData, renderTable } from "../output.ts";

/** The single NAME positional of a command. */
function oneName(ctx: CommandContext): string {
  const [name, ...rest] = ctx.positionals;
  if (!name) throw new UsageError("missing NAME");
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  return name;
}

/** Parses --roles and checks that every role exists (as tctl does). */
async function rolesOption(ctx: CommandContext, backend: Backend): Promise<string[]> {
  const text = stringOpt(ctx.values, "roles");
  if (!text) throw new UsageError("missing --roles (e.g. --roles dev,viewer)");
  const roles = [...new Set(parseList(text))];
  if (roles.length === 0) throw new UsageError("--roles: give at least one role");
  const known = new Set((await backend.list("role")).map((r) => r.metadata.name));
  const missing = roles.filter((r) => !known.has(r));
  if (missing.length > 0) {
    throw notFound(
      `role${missing.length > 1 ? "s" : ""} ${missing.map((r) => JSON.stringify(r)).join(", ")} not found (create with: kubeport ctl create -f role.yaml)`,
    );
  }
  return roles;
}

const rolesOpt = { type: "string", valueName: "ROLES", description: "role names, comma-separated" } as const;

/** ` -c FILE` when the config was named on the command line, so the suggested command reads the same one. */
const configFlag = (ctx: CommandContext) => {
  const file = stringOpt(ctx.values, "config");
  return file ? ` -c ${file}` : "";
};

const add: Command = {
  name: "add",
  summary: "Create a user holding the given roles.",
  usage: "NAME",
  options: { roles: rolesOpt },
  help: "Example:\n  kubeport ctl users add alice --roles dev,viewer\n  kubeport kubeconfig --user alice -o alice.kubeconfig",
  async run(ctx) {
    const name = oneName(ctx);
    const backend = await ctx.backend();
    const roles = await rolesOption(ctx, backend);
    const user: User = {
      kind: "user",
      version: "v1",
      metadata: { name },
      spec: { roles, created: new Date().toISOString() },
    };
    await backend.create(user);
    ctx.out(
      `User "${name}" has been created with roles ${roles.join(", ")}.\nGive them a kubeconfig: kubeport kubeconfig${configFlag(ctx)} --user ${name} -o ${name}.kubeconfig\n`,
    );
  },
};

const update: Command = {
  name: "update",
  summary: "Replace a user's roles (their tokens stay valid and get the new roles).",
  usage: "NAME",
  options: { roles: rolesOpt },
  async run(ctx) {
    const name = oneName(ctx);
    const backend = await ctx.backend();
    const roles = await rolesOption(ctx, backend);
    const current = (await backend.get("user", name)) as User | undefined;
    if (!current) throw notFound(`user "${name}" not found`);
    await backend.compareAndSwap({ ...current, spec: { ...current.spec, roles } });
    ctx.out(`User "${name}" now has roles ${roles.join(", ")}.\n`);
  },
};

const ls: Command = {
  name: "ls",
  readsOnly: true,
  summary: "List users.",
  options: {
    format: { type: "string", valueName: "FMT", description: "text, yaml or json", default: "text" },
  },
  async run(ctx) {
    const format = parseFormat(stringOpt(ctx.values, "format"));
    const users = ((await (await ctx.backend()).list("user")) as User[]).sort((a, b) =>
      a.metadata.name.localeCompare(b.metadata.name),
    );
    if (format !== "text") return void ctx.out(renderData(format, users));
    if (users.length === 0)
      return void ctx.out("No users found. Add one: kubeport ctl users add NAME --roles ROLES\n");
    ctx.out(
      renderTable(
        ["USER", "ROLES", "AGE"],
        users.map((u) => [u.metadata.name, u.spec.roles.join(","), age(u.spec.created)]),
      ),
    );
  },
};

const rm: Command = {
  name: "rm",
  summary: "Delete a user; their tokens stop working at once.",
  usage: "NAME",
  async run(ctx) {
    const name = oneName(ctx);
    if (!(await (await ctx.backend()).delete("user", name))) throw notFound(`user "${name}" not found`);
    ctx.out(`User "${name}" has been deleted.\n`);
  },
};

export const usersCommand: Command = {
  name: "users",
  summary: "Manage kubeport users.",
  subcommands: [add, update, ls, rm],
};
