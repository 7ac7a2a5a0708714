// `kubeport ctl audit tail [-n 50] [--follow]` and `ctl audit search [--user] [--cluster] [--type]
// [--since] [--until]`: the gateway's audit events from the registry stream, one escaped line each.

import { stringify } from "yaml";
import {
  AUDIT_PAGE,
  AUDIT_STREAM,
  type AuditQuery,
  EVENT_TYPES,
  escapeText,
  formatAuditLine,
  lastEntries,
  matcher,
  upgradeEntry,
} from "../../audit/index.ts";
import { sleep } from "../../lib/clock.ts";
import { parseDuration } from "../../lib/duration.ts";
import { stringOpt, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../command.ts";
import { OUTPUT_OPTIONS, parseOutput } from "../output.ts";

export { formatAuditLine, lastEntries };

const PAGE = AUDIT_PAGE;

/** -o as kubectl's `get -w` prints a stream: the table is one escaped line per event, json one object per line. */
const outputOptions = {
  ...OUTPUT_OPTIONS,
  output: {
    ...OUTPUT_OPTIONS.output,
    description:
      "json (one object per line), yaml (a document per event) or name (event ids); default one escaped line each",
  },
};

function printer(ctx: CommandContext): (entry: unknown) => void {
  const out = parseOutput(ctx.values);
  let first = true;
  return (stored) => {
    // Entries of the old shape as the events they stand for (`legacy: true`), in every format.
    const entry = upgradeEntry(stored);
    if (out === "json") return void ctx.out(`${JSON.stringify(entry)}\n`);
    if (out === "yaml") {
      ctx.out(`${first ? "" : "---\n"}${stringify(entry)}`);
      first = false;
      return;
    }
    if (out === "name") {
      const uid = (entry as { uid?: unknown } | null)?.uid;
      return void ctx.out(`${typeof uid === "string" ? escapeText(uid) : "-"}\n`);
    }
    ctx.out(`${formatAuditLine(entry)}\n`);
  };
}

/** An RFC 3339 time, or a duration meaning that long ago ("1h", "30m", "7d"). */
export function parseWhen(text: string, flag: string, now = Date.now()): number {
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  const t = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(t)) return t;
  throw new UsageError(
    `${flag}: "${text}" is not a time (2026-12-03T10:00:00Z) or a duration ago (1h, 30m, 7d)`,
  );
}

const tail: Command = {
  name: "tail",
  readsOnly: true,
  summary: "Show the latest audit events; --follow keeps printing new ones.",
  options: {
    lines: {
      type: "string",
      short: "n",
      valueName: "N",
      description: "how many recent events",
      default: "50",
    },
    follow: { type: "boolean", short: "f", description: "keep printing new events until interrupted" },
    ...outputOptions,
  },
  async run(ctx) {
    const lines = Number(stringOpt(ctx.values, "lines") ?? "50");
    if (!Number.isInteger(lines) || lines < 0) throw new UsageError("-n: must be a whole number ≥ 0");
    const print = printer(ctx);
    const follow = ctx.values.follow === true;
    // Ctrl-C is how a follow ends: stop cleanly with exit 0 rather than die of the signal (130).
    // Caught from the start, so a signal while the backlog prints is not lost.
    const interrupted = new AbortController();
    const onSignal = () => interrupted.abort();
    if (follow) {
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
    }
    const stop = AbortSignal.any([ctx.signal, interrupted.signal]);
    try {
      const backend = await ctx.backend();
      let { entries, lastId: after } = await lastEntries(backend, lines);
      for (const { entry } of entries) print(entry);
      while (follow && !stop.aborted) {
        const page = await backend.readStream(AUDIT_STREAM, {
          ...(after !== undefined ? { after } : {}),
          limit: PAGE,
        });
        for (const row of page) print(row.entry);
        if (page.length > 0) after = page.at(-1)!.id;
        if (page.length < PAGE) await sleep(500, stop).catch(() => {});
      }
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
};

const search: Command = {
  name: "search",
  readsOnly: true,
  summary: "Find audit events by user, cluster, type and time.",
  options: {
    user: { type: "string", valueName: "USER", description: "events of this user (as audit shows it)" },
    cluster: { type: "string", valueName: "CLUSTER", description: "events on this kube_cluster" },
    type: {
      type: "string",
      multiple: true,
      valueName: "TYPE",
      description: "event name or code (kube.request, auth, session.start, T3009I …); repeat for several",
    },
    since: {
      type: "string",
      valueName: "WHEN",
      description: "from this time (RFC 3339) or this long ago (1h, 7d)",
    },
    until: { type: "string", valueName: "WHEN", description: "before this time (RFC 3339) or this long ago" },
    limit: {
      type: "string",
      valueName: "N",
      description: "at most the N most recent matches (default all)",
    },
    ...outputOptions,
  },
  help: `Event types: ${EVENT_TYPES.map((t) => `${t.event} (${t.code})`).join(", ")}.
Text output escapes every control character and shows request paths as sent (percent-encoded).`,
  async run(ctx) {
    const print = printer(ctx);
    const types = (ctx.values.type as string[] | undefined) ?? [];
    const known = new Set(EVENT_TYPES.flatMap((t) => [t.event, t.code]));
    for (const t of types)
      if (!known.has(t)) throw new UsageError(`--type: "${t}" is not an event name or code (see --help)`);
    const now = Date.now();
    const since = stringOpt(ctx.values, "since");
    const until = stringOpt(ctx.values, "until");
    const q: AuditQuery = {
      ...(stringOpt(ctx.values, "user") !== undefined ? { user: stringOpt(ctx.values, "user")! } : {}),
      ...(stringOpt(ctx.values, "cluster") !== undefined
        ? { cluster: stringOpt(ctx.values, "cluster")! }
        : {}),
      ...(types.length ? { types } : {}),
      ...(since !== undefined ? { since: parseWhen(since, "--since", now) } : {}),
      ...(until !== undefined ? { until: parseWhen(until, "--until", now) } : {}),
    };
    const limitText = stringOpt(ctx.values, "limit");
    const limit = limitText === undefined ? Number.POSITIVE_INFINITY : Number(limitText);
    if (limitText !== undefined && (!Number.isInteger(limit) || limit < 1))
      throw new UsageError("--limit: must be a whole number ≥ 1");
    const { entries } = await lastEntries(await ctx.backend(), limit, matcher(q));
    for (const { entry } of entries) print(entry);
  },
};

export const auditCommand: Command = {
  name: "audit",
  summary: "Read the gateway's audit log.",
  subcommands: [tail, search],
};
