// `kubeport ctl create -f FILE [--force]`: create resources from YAML or JSON (one or several documents).
import { readFile } from "node:fs/promises";
import { parseAllDocuments } from "yaml";
import { alreadyExists, badParameter } from "../../lib/errors.ts";
import { type Resource, type Role, validateResource } from "../../registry/index.ts";
import { stringOpt, UsageError } from "../args.ts";
import type { Command } from "../command.ts";

/** Parses every document (YAML is a superset of JSON; a JSON array counts as several) and validates each. */
export function parseResources(text: string, source: string): Resource[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw badParameter(`${source}: not a YAML or JSON document`);
  const out: Resource[] = [];
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0)
      throw badParameter(`${source}: document ${i + 1}: ${doc.errors[0]!.message.split("\n")[0]}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    for (const item of Array.isArray(value) ? value : [value]) {
      try {
        const { revision: _, ...metadata } = (item as Resource).metadata ?? {};
        out.push(validateResource({ ...(item as object), metadata }));
      } catch (err) {
        throw badParameter(`${source}: document ${i + 1}: ${(err as Error).message}`);
      }
    }
  });
  if (out.length === 0) throw badParameter(`${source}: no resources found`);
  return out;
}

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
    const text =
      file === "-"
        ? await Bun.stdin.text()
        : await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
            if (err.code === "ENOENT") throw new UsageError(`-f ${file}: file not found`);
            if (err.code === "EISDIR") throw new UsageError(`-f ${file}: is a directory`);
            throw err;
          });
    const resources = parseResources(text, file);
    const backend = await ctx.backend();
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
  },
};
