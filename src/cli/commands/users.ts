// `kubeport ctl users add|update|ls|rm`: kubeport users and the roles they hold.
import { endUserSessions, issueInvite } from "../../gateway/index.ts";
import { formatDuration, parseDuration } from "../../lib/duration.ts";
import { type ErrorKind, KubeportError, notFound } from "../../lib/errors.ts";
import type { Backend, User } from "../../registry/index.ts";
import { parseList, stringOpt, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../command.ts";
import { age, OUTPUT_OPTIONS, parseOutput, renderListing, renderTable } from "../output.ts";

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

const inviteTtlOpt = {
  type: "string",
  valueName: "DURATION",
  description: "how long the invite link works (default proxy_service.login.invite_ttl, 24h)",
} as const;

/** --ttl for an invite link, else the config's invite_ttl. */
async function inviteTtl(ctx: CommandContext): Promise<number> {
  const text = stringOpt(ctx.values, "ttl");
  if (text === undefined) return (await ctx.config()).proxy_service.login.invite_ttl;
  const ms = parseDuration(text);
  if (!ms || ms <= 0) throw new UsageError(`--ttl: "${text}" is not a duration (e.g. 24h, 30m)`);
  if (ms > 30 * 86_400_000) throw new UsageError("--ttl: an invite link works at most 30 days");
  return ms;
}

/**
 * Waits for a step; a KubeportError it rejects with (of `kind`, when given) gets `hint`, what the
 * person does next, which the CLI prints in place of its generic one.
 */
async function withHint<T>(step: Promise<T>, hint: string, kind?: ErrorKind): Promise<T> {
  try {
    return await step;
  } catch (e) {
    if (e instanceof KubeportError && (!kind || e.kind === kind)) e.hint ??= hint;
    throw e;
  }
}

/** Issues the invite and prints what to hand over. */
async function printInvite(ctx: CommandContext, backend: Backend, name: string, reason: "invite" | "reset") {
  const config = await ctx.config();
  const ttlMs = await inviteTtl(ctx);
  const invite = await issueInvite(backend, {
    user: name,
    ttlMs,
    publicAddr: config.proxy_service.public_addr,
    reason,
  });
  ctx.out(
    `Send ${name} this link to set a password and an authenticator app (it works once, for ${formatDuration(ttlMs)}, until ${invite.expires}):\n\n  ${invite.url}\n\nThen they sign in with: kubeport login --proxy https://${config.proxy_service.public_addr} --user ${name}\n`,
  );
}

const add: Command = {
  name: "add",
  summary: "Create a user holding the given roles.",
  usage: "NAME",
  options: { roles: rolesOpt, ttl: inviteTtlOpt },
  help: "Prints a one-time invite link: the person sets a password and TOTP there, then runs kubeport login.\nExample:\n  kubeport ctl users add alice --roles dev,viewer",
  async run(ctx) {
    const name = oneName(ctx);
    const backend = await ctx.backend();
    const roles = await rolesOption(ctx, backend);
    await inviteTtl(ctx);
    const user: User = {
      kind: "user",
      version: "v1",
      metadata: { name },
      spec: { roles, created: new Date().toISOString() },
    };
    const q = JSON.stringify(name);
    await withHint(
      backend.create(user),
      `The change is not confirmed: check with "kubeport ctl get user ${name}" whether it is there; if it is not, run the command again; if it is, get its invite link with "kubeport ctl users reset ${name}".`,
      "uncertain",
    );
    ctx.out(`User ${q} has been created with roles ${roles.join(", ")}.\n`);
    // The user is stored (confirmed); its link is printed only once the invite is confirmed too.
    await withHint(
      printInvite(ctx, backend, name, "invite"),
      `User ${q} is created, but it has no invite link yet: get one with "kubeport ctl users reset ${name}".`,
    );
  },
};

const reset: Command = {
  name: "reset",
  summary: "Clear a user's password and TOTP, sign them out, and print a new invite link.",
  usage: "NAME",
  options: { ttl: inviteTtlOpt },
  async run(ctx) {
    const name = oneName(ctx);
    const backend = await ctx.backend();
    if (!(await backend.get("user", name))) throw notFound(`user "${name}" not found`);
    await inviteTtl(ctx);
    // Every step is safe to repeat, and its link is printed only once every write is confirmed.
    const again = `The reset is not complete: run "kubeport ctl users reset ${name}" again (it is safe to repeat) until it prints an invite link.`;
    const ended = await withHint(
      (async () => {
        await backend.delete("credential", name);
        return endUserSessions(backend, name);
      })(),
      again,
    );
    ctx.out(
      `The password and TOTP of "${name}" are cleared; ${ended} login session${ended === 1 ? "" : "s"} ended.\n`,
    );
    await withHint(printInvite(ctx, backend, name, "reset"), again);
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
  options: { ...OUTPUT_OPTIONS },
  async run(ctx) {
    const out = parseOutput(ctx.values);
    const users = ((await (await ctx.backend()).list("user")) as User[]).sort((a, b) =>
      a.metadata.name.localeCompare(b.metadata.name),
    );
    if (users.length === 0 && (out === "table" || out === "wide"))
      return void ctx.out("No users found. Add one: kubeport ctl users add NAME --roles ROLES\n");
    ctx.out(
      renderListing(out, {
        data: users,
        names: () => users.map((u) => `user/${u.metadata.name}`),
        table: () =>
          renderTable(
            ["USER", "ROLES", "AGE"],
            users.map((u) => [u.metadata.name, u.spec.roles.join(","), age(u.spec.created)]),
          ),
        wide: () =>
          renderTable(
            ["USER", "ROLES", "AGE", "CREATED"],
            users.map((u) => [u.metadata.name, u.spec.roles.join(","), age(u.spec.created), u.spec.created]),
          ),
      }),
    );
  },
};

const rm: Command = {
  name: "rm",
  summary: "Delete a user; their tokens stop working at once.",
  usage: "NAME",
  async run(ctx) {
    const name = oneName(ctx);
    const backend = await ctx.backend();
    if (!(await backend.delete("user", name))) throw notFound(`user "${name}" not found`);
    // Their secrets and sessions go too (a re-created user of the same name sets their own).
    await backend.delete("credential", name);
    await endUserSessions(backend, name);
    for (const inv of await backend.list("invite"))
      if ((inv.spec as { user?: string }).user === name) await backend.delete("invite", inv.metadata.name);
    ctx.out(`User "${name}" has been deleted.\n`);
  },
};

export const usersCommand: Command = {
  name: "users",
  summary: "Manage kubeport users.",
  subcommands: [add, update, ls, rm, reset],
};
