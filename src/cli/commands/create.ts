// `kubeport ctl create -f FILE [--force]`: create resources from YAML or JSON (one or several documents).
import { open } from "node:fs/promises";
import { alreadyExists } from "../../lib/errors.ts";
import { formatProblem } from "../../lib/problems.ts";
import type { Backend, Resource, Role, User } from "../../registry/index.ts";
import { stringOpt, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { CREATE_LIMITS, checkFileSize, parseResources } from "../resource-file.ts";

export { parseResources } from "../resource-file.ts";

/**
 * A role that selects clusters but grants no Kubernetes identity lets nobody in on its own: the
 * gateway has nothing to impersonate and answers 403. Valid, so not refused, but worth saying.
 */
export function roleWarning(r: Resource): string | undefined {
  if (r.kind !== "role") return undefined;
  const allow = (r as Role).spec.allow;
  if (!allow.kubernetes_labels || Object.keys(allow.kubernetes_labels).length === 0) return undefined;
  if ((allow.kubernetes_groups ?? []).length > 0 || (allow.kubernetes_users ?? []).length > 0)
    return undefined;
  return `role "${r.metadata.name}" allows clusters but grants no kubernetes_groups or kubernetes_users: a user holding only this role is refused (403); add e.g. kubernetes_groups: ["viewers"]`;
}

export const createCommand: Command = {
  name: "create",
  summary: "Create resources from a YAML or JSON file.",
  usage: "-f FILE",
  options: {
    file: {
      type: "string",
      short: "f",
      valueName: "FILE",
      description: "resource file (YAML or JSON; - for stdin)",
    },
    force: { type: "boolean", description: "overwrite resources that exist" },
  },
  help: "Example:\n  kubeport ctl create -f role.yaml",
  async run(ctx) {
    const file = stringOpt(ctx.values, "file") ?? ctx.positionals[0];
    if (!file) throw new UsageError("missing -f FILE");
    const text = file === "-" ? await readStdin() : await readLimited(file);
    // Every check before the first write: a bad file stores nothing.
    const { resources, warnings } = parseResources(text, file === "-" ? "standard input" : file);
    const backend = await ctx.backend();
    if (!ctx.values.force) {
      const existing: string[] = [];
      for (const r of resources)
        if (await backend.get(r.kind, r.metadata.name)) existing.push(`${r.kind} "${r.metadata.name}"`);
      if (existing.length > 0)
        throw alreadyExists(
          `${existing.join(", ")} already ${existing.length === 1 ? "exists" : "exist"}; use --force to overwrite${resources.length > 1 ? " (nothing was created)" : ""}`,
        );
    }
    for (const r of resources) {
      if (ctx.values.force) await backend.put(r);
      else {
        try {
          await backend.create(r);
        } catch (err) {
          if ((err as { kind?: string }).kind === "already_exists") {
            // The registry's own message would only repeat this one.
            throw alreadyExists(`${r.kind} "${r.metadata.name}" already exists; use --force to overwrite`);
          }
          throw err;
        }
      }
      ctx.out(
        `${r.kind} "${r.metadata.name}" has been ${ctx.values.force ? "created or updated" : "created"}\n`,
      );
      const warning = roleWarning(r);
      if (warning) ctx.err(`warning: ${warning}\n`);
    }
    for (const w of warnings) ctx.err(`warning: ${formatProblem(w)}\n`);
    for (const w of await unknownRoleWarnings(backend, resources)) ctx.err(`warning: ${w}\n`);
  },
};

/**
 * Users in the file holding a role that neither the registry nor the file has: the gateway refuses
 * such a user every cluster (a missing role could have been a deny), so it is said at once.
 */
async function unknownRoleWarnings(backend: Backend, resources: readonly Resource[]): Promise<string[]> {
  const users = resources.filter((r): r is User => r.kind === "user");
  if (users.length === 0) return [];
  const known = new Set([
    ...(await backend.list("role")).map((r) => r.metadata.name),
    ...resources.filter((r) => r.kind === "role").map((r) => r.metadata.name),
  ]);
  return users.flatMap((u) =>
    u.spec.roles
      .filter((role) => !known.has(role))
      .map(
        (role) =>
          `user "${u.metadata.name}" holds role "${role}", which does not exist: the gateway refuses them every cluster until it is created (or taken off them)`,
      ),
  );
}

/** A file, refused before reading when it is over the size limit. */
async function readLimited(file: string): Promise<string> {
  const handle = await open(file, "r").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") throw new UsageError(`-f ${file}: file not found`);
    throw err;
  });
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new UsageError(`-f ${file}: is a directory`);
    checkFileSize(file, st.size);
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}

/** Standard input, read only up to one byte past the limit. */
async function readStdin(): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of Bun.stdin.stream()) {
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size > CREATE_LIMITS.fileBytes) break;
  }
  checkFileSize("standard input", size, true);
  return Buffer.concat(chunks).toString("utf8");
}
