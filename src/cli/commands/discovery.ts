// `kubeport ctl discovery status`: per discovery group, the leader, last poll, counts and per-scope rows.
import { notFound } from "../../lib/errors.ts";
import type { DiscoveryStatus, Resource } from "../../registry/index.ts";
import { stringOpt, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { age, parseFormat, renderData, renderTable } from "../output.ts";

const SCOPE_HEADERS = ["MATCHER", "ACCOUNT", "REGION", "CLUSTERS", "LAST POLL", "ERROR"];

const ownerText = (owner: string) =>
  owner.startsWith("origin:") ? `not discovered (${owner})` : owner ? `group ${owner}` : "the default group";

/** Renders discovery_status resources as text: a summary per group, then its scope rows. */
export function formatDiscoveryStatus(
  items: readonly Resource[],
  now = Date.now(),
  opts: { errorsOnly?: boolean; all?: boolean } = {},
): string {
  if (items.length === 0) return "No discovery status found (no discovery service has polled yet).\n";
  const parts: string[] = [];
  for (const r of [...items].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const s = (r as DiscoveryStatus).spec;
    const failed = s.scopes.filter((x) => x.error).length;
    const total = s.scopes.reduce((n, x) => n + x.clusters, 0);
    const warnings = ((s as { access_warnings?: string[] }).access_warnings ?? []) as string[];
    const lines = [
      `Discovery group: ${s.discovery_group || "(none)"}`,
      `Leader:          ${s.holder} (fencing token ${s.fence_token})`,
      `Last poll:       ${s.last_poll} (${age(s.last_poll, now)} ago, took ${(s.duration_ms / 1000).toFixed(1)}s)`,
      `Clusters:        ${total} matched in ${s.scopes.length} scopes${failed ? `, ${failed} failed (their clusters are kept)` : ""}`,
      `Last changes:    ${s.counts.created} created, ${s.counts.updated} updated, ${s.counts.deleted} deleted, ${s.counts.unchanged} unchanged`,
    ];
    if (warnings.length > 0)
      lines.push(`Access setup:    ${warnings.length} problem(s):`, ...warnings.map((w) => `  - ${w}`));
    const conflicts = (s as { conflicts?: { name: string; owner: string }[] }).conflicts ?? [];
    if (conflicts.length > 0) {
      const byOwner = new Map<string, string[]>();
      for (const c of conflicts) byOwner.set(c.owner, [...(byOwner.get(c.owner) ?? []), c.name]);
      lines.push(
        `Not written:     ${conflicts.length} matched cluster(s) held by another owner, left alone:`,
        ...[...byOwner].map(([owner, names]) => `  - ${ownerText(owner)}: ${names.sort().join(", ")}`),
      );
      if (conflicts.some((c) => !c.owner.startsWith("origin:")))
        lines.push("  (two discovery groups match the same clusters: give each group disjoint tags)");
    }
    const rows = s.scopes
      .filter((x) => !opts.errorsOnly || x.error)
      .filter((x) => opts.errorsOnly || opts.all || x.clusters > 0 || x.error)
      .map((x) => [
        String(x.matcher),
        x.account ?? "?",
        x.region,
        String(x.clusters),
        `${age(x.last_poll, now)} ago`,
        x.error ?? "",
      ]);
    if (opts.errorsOnly && rows.length === 0)
      lines.push("", "No failed scopes: every account and region answered.");
    const hidden = s.scopes.length - rows.length;
    parts.push(
      `${lines.join("\n")}\n\n${rows.length ? renderTable(SCOPE_HEADERS, rows) : ""}${hidden && !opts.errorsOnly && !opts.all ? `(${hidden} scopes with no clusters and no error not shown; --all shows them)\n` : ""}`,
    );
  }
  return parts.join("\n");
}

const status: Command = {
  name: "status",
  readsOnly: true,
  summary: "Show each discovery group's leader, last poll, counts and per account/region results.",
  usage: "[GROUP]",
  options: {
    errors: { type: "boolean", description: "only scopes whose last fetch failed" },
    all: { type: "boolean", description: "include scopes with no clusters and no error" },
    format: { type: "string", valueName: "FMT", description: "text, yaml or json", default: "text" },
  },
  async run(ctx) {
    const format = parseFormat(stringOpt(ctx.values, "format"));
    if (ctx.positionals.length > 1) throw new UsageError("at most one GROUP");
    const group = ctx.positionals[0];
    const all = await (await ctx.backend()).list("discovery_status");
    const items = group === undefined ? all : all.filter((r) => r.metadata.name === (group || "default"));
    // A mistyped group must not read as "discovery never ran".
    if (group !== undefined && items.length === 0 && all.length > 0) {
      throw notFound(
        `no discovery status for group "${group}" (groups that have polled: ${all
          .map((r) => r.metadata.name)
          .sort()
          .join(", ")})`,
      );
    }
    if (format !== "text") return void ctx.out(renderData(format, items));
    ctx.out(
      formatDiscoveryStatus(items, Date.now(), {
        errorsOnly: Boolean(ctx.values.errors),
        all: Boolean(ctx.values.all),
      }),
    );
  },
};

export const discoveryCommand: Command = {
  name: "discovery",
  summary: "Inspect the EKS discovery service.",
  subcommands: [status],
};
