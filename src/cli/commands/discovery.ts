// `kubeport ctl discovery status`: per discovery group, the leader, last poll, counts and per-scope rows.
import { notFound } from "../../lib/errors.ts";
import type { DiscoveryStatus, Resource } from "../../registry/index.ts";
import { UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { age, OUTPUT_OPTIONS, parseOutput, renderListing, renderTable } from "../output.ts";

const SCOPE_HEADERS = [
  "MATCHER",
  "ACCOUNT",
  "REGION",
  "STATE",
  "CLUSTERS",
  "LAST POLL",
  "LAST SUCCESS",
  "ERROR",
];
/** How many names a grouped line shows before "and N more". */
const FIRST_NAMES = 3;

/**
 * Groups (item, text) pairs by text: one line per distinct text with a count and the first names,
 * so 329 clusters with the same problem read as one line.
 */
export function groupLines(pairs: readonly { name: string; text: string }[]): string[] {
  const byText = new Map<string, string[]>();
  for (const p of pairs) byText.set(p.text, [...(byText.get(p.text) ?? []), p.name]);
  return [...byText]
    .sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))
    .map(([text, names]) => {
      if (names.length === 1) return `  - ${names[0]}: ${text}`;
      const sorted = names.sort();
      const shown = sorted.slice(0, FIRST_NAMES).join(", ");
      const more = sorted.length > FIRST_NAMES ? ` and ${sorted.length - FIRST_NAMES} more` : "";
      return `  - ${names.length} clusters (${shown}${more}): ${text}`;
    });
}

/** Access problems of a status: structured when the writer recorded them, else parsed from the lines. */
function accessPairs(spec: Record<string, unknown>): { name: string; text: string }[] {
  const problems = spec.access_problems as { cluster: string; problem: string }[] | undefined;
  if (problems?.length) return problems.map((p) => ({ name: p.cluster, text: p.problem }));
  return ((spec.access_warnings as string[] | undefined) ?? []).map((w) => {
    const m = /^cannot set up access to cluster (.+?\)): (.*)$/.exec(w);
    return m ? { name: m[1]!, text: m[2]! } : { name: "?", text: w };
  });
}

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
    const access = accessPairs(s as unknown as Record<string, unknown>);
    const orgs = ((
      s as { organizations?: { matcher: number; accounts?: number; last_list?: string; error?: string }[] }
    ).organizations ?? []) as { matcher: number; accounts?: number; last_list?: string; error?: string }[];
    const lines = [
      `Discovery group: ${s.discovery_group || "(none)"}`,
      `Leader:          ${s.holder} (fencing token ${s.fence_token})`,
      `Last poll:       ${s.last_poll} (${age(s.last_poll, now)} ago, took ${(s.duration_ms / 1000).toFixed(1)}s)`,
      `Clusters:        ${total} matched in ${s.scopes.length} scopes${failed ? `, ${failed} failed (their clusters are kept)` : ""}`,
      `Last changes:    ${s.counts.created} created, ${s.counts.updated} updated, ${s.counts.deleted} deleted, ${s.counts.unchanged} unchanged`,
    ];
    for (const o of orgs)
      lines.push(
        `Organization:    matcher ${o.matcher}: ${o.accounts === undefined ? "accounts unknown (never listed)" : `${o.accounts} accounts`}${o.last_list ? `, listed ${age(o.last_list, now)} ago` : ""}${o.error ? `; last listing failed: ${o.error}` : ""}`,
      );
    if (access.length > 0)
      lines.push(`Access setup:    ${access.length} cluster(s) with a problem:`, ...groupLines(access));
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
        x.state ?? (x.error ? "failed" : "ok"),
        String(x.clusters),
        x.last_poll ? `${age(x.last_poll, now)} ago` : "-",
        x.last_success ? `${age(x.last_success, now)} ago` : "never",
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
    ...OUTPUT_OPTIONS,
  },
  async run(ctx) {
    const out = parseOutput(ctx.values);
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
    const text = (all: boolean) =>
      formatDiscoveryStatus(items, Date.now(), { errorsOnly: Boolean(ctx.values.errors), all });
    ctx.out(
      renderListing(out, {
        data: items,
        names: () => items.map((r) => `discovery_status/${r.metadata.name}`),
        table: () => text(Boolean(ctx.values.all)),
        // Wide: every scope, the quiet ones too (as --all).
        wide: () => text(true),
      }),
    );
  },
};

export const discoveryCommand: Command = {
  name: "discovery",
  summary: "Inspect the EKS discovery service.",
  subcommands: [status],
};
