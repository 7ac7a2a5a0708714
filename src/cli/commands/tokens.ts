// `kubeport ctl tokens add|ls|rm`: join tokens for kubeport instances.
import type { Config, StorageConfig } from "../../config/index.ts";
import { formatDuration, parseDuration } from "../../lib/duration.ts";
import { notFound } from "../../lib/errors.ts";
import type { Resource, Token, TokenRole } from "../../registry/index.ts";
import { parseList, stringOpt, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { isTokenSecret, mintToken, sha256Hex, tokenId } from "../join.ts";
import {
  OUTPUT_OPTIONS,
  parseFormat,
  parseOutput,
  renderData,
  renderListing,
  renderTable,
  shellQuote,
} from "../output.ts";

const ROLES: readonly TokenRole[] = ["discovery", "kube", "proxy"];
export const TOKEN_HEADERS = ["TOKEN ID", "TYPE", "EXPIRY TIME"];

/** Token rows: id, roles, expiry (with time left). */
export function formatTokenRows(items: Resource[], now = Date.now()): string[][] {
  return items.map((r) => {
    const t = r as Token;
    const exp = t.metadata.expires;
    const left = exp ? Date.parse(exp) - now : undefined;
    return [
      t.metadata.name,
      t.spec.roles.join(","),
      exp ? `${exp} (${left !== undefined && left > 0 ? formatDuration(left) : "expired"})` : "never",
    ];
  });
}

const add: Command = {
  name: "add",
  summary: "Create a join token (shown once; only its hash is stored).",
  options: {
    type: {
      type: "string",
      valueName: "ROLES",
      description: "roles, comma-separated: discovery, kube, proxy",
    },
    ttl: { type: "string", valueName: "DURATION", description: "time to live", default: "30m" },
    format: { type: "string", valueName: "FMT", description: "text or json", default: "text" },
  },
  help: "Example:\n  kubeport ctl tokens add --type=discovery,kube --ttl 1h",
  async run(ctx) {
    const typeText = stringOpt(ctx.values, "type");
    if (!typeText) throw new UsageError("missing --type (e.g. --type=discovery,kube)");
    const roles = parseList(typeText);
    for (const r of roles)
      if (!(ROLES as readonly string[]).includes(r))
        throw new UsageError(`--type: "${r}" is not one of: ${ROLES.join(", ")}`);
    const ttlText = stringOpt(ctx.values, "ttl") ?? "30m";
    const ttl = parseDuration(ttlText);
    if (!ttl) throw new UsageError(`--ttl: "${ttlText}" is not a duration (e.g. 30m, 1h)`);
    const format = parseFormat(stringOpt(ctx.values, "format"));
    const { secret, token } = mintToken([...new Set(roles)] as TokenRole[], ttl);
    await (await ctx.backend()).create(token);
    if (format !== "text") {
      ctx.out(
        renderData(format, {
          token: secret,
          id: token.metadata.name,
          roles: token.spec.roles,
          expires: token.metadata.expires,
        }),
      );
      return;
    }
    const config = await ctx.config();
    ctx.out(
      [
        `The invite token: ${secret}`,
        `This token will expire in ${formatDuration(ttl)}.`,
        "",
        "Run this on the new node to join the cluster: save the token to a file, point the config at it, and start:",
        "",
        `> echo ${secret} > /var/lib/kubeport/token`,
        `> kubeport configure --token /var/lib/kubeport/token${configureFlags(config)} --out /etc/kubeport.yaml`,
        "> kubeport start -c /etc/kubeport.yaml",
        "",
        ...registryNote(config.kubeport.storage),
        "Or add it to an existing config:",
        "",
        "kubeport:",
        "  join_params:",
        "    method: token",
        "    token_name: /var/lib/kubeport/token",
        "",
        "Please note:",
        `  - This invitation token will expire in ${formatDuration(ttl)}.`,
        `  - It grants: ${token.spec.roles.join(", ")}. It is shown only once; kubeport keeps its hash (id ${token.metadata.name}).`,
        "",
      ].join("\n"),
    );
  },
};

/**
 * The `configure` flags that make the new node's config meet this one: the same registry (the token
 * lives only there) and the same discovery group (same clusters → same group).
 */
export function configureFlags(config: Config): string {
  const flags: string[] = [];
  const url = config.kubeport.storage.url;
  // The password stays out of what gets pasted into tickets; the joining admin adds it.
  if (url) flags.push(`--storage-url ${shellQuote(withoutPassword(url))}`);
  if (config.discovery_service.enabled)
    flags.push(`--discovery-group ${config.discovery_service.discovery_group || "''"}`);
  return flags.map((f) => ` ${f}`).join("");
}

/** What the joining node needs to know about reaching this registry, when a flag cannot say it. */
function registryNote(storage: StorageConfig): string[] {
  if (storage.type === "sqlite") {
    return [
      `The token is stored in this host's SQLite registry (${storage.path}); only a kubeport that opens`,
      "that same registry can join with it. For a second host, move both to Redis first (storage.type: redis).",
      "",
    ];
  }
  if (storage.url && !storage.tls) return [];
  const why = storage.tls ? "TLS settings and files" : "Sentinel or Cluster";
  return [`Give the new node's config the same kubeport.storage section as this host's (${why}).`, ""];
}

const ls: Command = {
  name: "ls",
  readsOnly: true,
  summary: "List join tokens (ids only; secrets are never stored).",
  options: { ...OUTPUT_OPTIONS },
  async run(ctx) {
    const out = parseOutput(ctx.values);
    const items = (await (await ctx.backend()).list("token")).sort((a, b) =>
      a.metadata.name.localeCompare(b.metadata.name),
    );
    ctx.out(
      renderListing(out, {
        data: items,
        names: () => items.map((t) => `token/${t.metadata.name}`),
        table: () =>
          items.length === 0
            ? "No active tokens found.\n"
            : renderTable(TOKEN_HEADERS, formatTokenRows(items)),
      }),
    );
  },
};

const rm: Command = {
  name: "rm",
  summary: "Delete a join token by its secret or its id.",
  usage: "TOKEN_OR_ID",
  async run(ctx) {
    const [arg, ...rest] = ctx.positionals;
    if (!arg) throw new UsageError("missing TOKEN_OR_ID");
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const id = isTokenSecret(arg) ? tokenId(sha256Hex(arg)) : arg;
    if (!(await (await ctx.backend()).delete("token", id))) throw notFound(`token ${id} not found`);
    ctx.out(`Token ${id} has been deleted.\n`);
  },
};

export const tokensCommand: Command = {
  name: "tokens",
  summary: "Manage join tokens.",
  subcommands: [add, ls, rm],
};

/** The URL with its password replaced by PASSWORD (unchanged when it has none or does not parse). */
function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = "PASSWORD";
    return u.toString();
  } catch {
    return url;
  }
}
