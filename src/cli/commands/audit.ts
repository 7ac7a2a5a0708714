// `kubeport ctl audit tail [-n 50] [--follow]`: the gateway's audit events from the registry stream.

import { AUDIT_STREAM, type AuditEntry } from "../../gateway/index.ts";
import { sleep } from "../../lib/clock.ts";
import type { Backend } from "../../registry/index.ts";
import { stringOpt, UsageError } from "../args.ts";
import type { Command } from "../command.ts";

const PAGE = 1000;

/** One readable line per audit entry. */
export function formatAuditLine(e: AuditEntry): string {
  if (e.type === "session") {
    const where = `${e.namespace}/${e.pod}${e.container ? `/${e.container}` : ""}`;
    const end =
      e.phase === "end"
        ? ` in=${e.bytes_in}B out=${e.bytes_out}B${e.exit_code !== undefined ? ` exit=${e.exit_code}` : ""}${e.duration_ms !== undefined ? ` ${e.duration_ms}ms` : ""}`
        : "";
    return `${e.time} ${e.user} ${e.cluster} ${e.kind} ${e.phase} ${where}${e.command?.length ? ` ${JSON.stringify(e.command.join(" "))}` : ""}${end}`;
  }
  const target = [
    e.resource + (e.subresource ? `/${e.subresource}` : ""),
    e.namespace ? `ns=${e.namespace}` : "",
    e.name ?? "",
  ]
    .filter(Boolean)
    .join(" ");
  return `${e.time} ${e.user} ${e.cluster} ${e.verb} ${target || "-"} ${e.status} ${e.latency_ms}ms${e.kubectl_command ? ` ${JSON.stringify(e.kubectl_command)}` : ""}`;
}

/** The last `n` entries of the stream (paging from the start: streams are capped) and the last id. */
export async function lastEntries(
  backend: Backend,
  n: number,
): Promise<{ entries: { id: string; entry: unknown }[]; lastId?: string }> {
  const ring: { id: string; entry: unknown }[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await backend.readStream(AUDIT_STREAM, {
      ...(after !== undefined ? { after } : {}),
      limit: PAGE,
    });
    for (const row of page) {
      ring.push(row);
      if (ring.length > n) ring.shift();
    }
    if (page.length > 0) after = page.at(-1)!.id;
    if (page.length < PAGE) break;
  }
  return { entries: ring, ...(after !== undefined ? { lastId: after } : {}) };
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
    format: {
      type: "string",
      valueName: "FMT",
      description: "text or json (one object per line)",
      default: "text",
    },
  },
  async run(ctx) {
    const lines = Number(stringOpt(ctx.values, "lines") ?? "50");
    if (!Number.isInteger(lines) || lines < 0) throw new UsageError("-n: must be a whole number ≥ 0");
    const format = stringOpt(ctx.values, "format") ?? "text";
    if (format !== "text" && format !== "json")
      throw new UsageError(`--format: "${format}" is not one of: text, json`);
    const print = (entry: unknown) =>
      ctx.out(`${format === "json" ? JSON.stringify(entry) : formatAuditLine(entry as AuditEntry)}\n`);
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

export const auditCommand: Command = {
  name: "audit",
  summary: "Read the gateway's audit log.",
  subcommands: [tail],
};
