// `kubeport ctl recordings ls|export`: session recordings from the store the config names (an admin
// sees all), or through a gateway with --token (the user's own, or everyone's with review_recordings).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { formatDuration } from "../../lib/duration.ts";
import { notFound } from "../../lib/errors.ts";
import {
  castLines,
  gatewayReader,
  openRecordingStore,
  type RecordingInfo,
  type RecordingStore,
} from "../../recording/index.ts";
import { stringOpt, UsageError } from "../args.ts";
import type { Command, CommandContext, OptionSpec } from "../command.ts";
import { age, OUTPUT_OPTIONS, parseOutput, renderListing, renderTable } from "../output.ts";
import { parseWhen } from "./audit.ts";

/** --token/--gateway/--ca-file: read through a gateway as a user instead of the config's store. */
export const sourceOptions: Record<string, OptionSpec> = {
  token: {
    type: "string",
    valueName: "TOKEN",
    description: "read through the gateway as this user (default $KUBEPORT_TOKEN; else the config's store)",
  },
  gateway: {
    type: "string",
    valueName: "URL",
    description: "gateway URL with --token (default https://<proxy_service.public_addr> of the config)",
  },
  "ca-file": {
    type: "string",
    valueName: "FILE",
    description: "the gateway's CA with --token (default <data_dir>/tls/ca.pem of the config, if any)",
  },
};

/** Where recordings are read from: the gateway (with a token) or the store the config names. */
export async function recordingSource(ctx: CommandContext): Promise<RecordingStore> {
  const token = stringOpt(ctx.values, "token") || ctx.env.KUBEPORT_TOKEN || undefined;
  if (!token) return openRecordingStore((await ctx.config()).audit.sessions_uri);
  let url = stringOpt(ctx.values, "gateway");
  let caFile = stringOpt(ctx.values, "ca-file");
  if (!url || !caFile) {
    // The config fills what the flags leave out, when there is one.
    const config = await ctx.config().catch((err) => {
      if (!url) throw err;
      return undefined;
    });
    if (config) {
      url ??= `https://${config.proxy_service.public_addr}`;
      const generated = join(config.kubeport.data_dir, "tls", "ca.pem");
      if (!caFile && existsSync(generated)) caFile = generated;
    }
  }
  const ca = caFile ? readFileSync(caFile, "utf8") : undefined;
  return gatewayReader({ url: url!, token, ...(ca ? { ca } : {}) });
}

/** One recording's metadata, or not_found naming where it looked. */
export async function findRecording(store: RecordingStore, sid: string | undefined): Promise<RecordingInfo> {
  if (!sid) throw new UsageError("missing SESSION_ID (kubeport ctl recordings ls lists them)");
  const info = await store.get(sid);
  if (!info) throw notFound(`no recording of session ${JSON.stringify(sid)} in ${store.name}`);
  return info;
}

const ls: Command = {
  name: "ls",
  summary: "List session recordings (newest last).",
  options: {
    user: { type: "string", valueName: "USER", description: "recordings of this user" },
    cluster: { type: "string", valueName: "CLUSTER", description: "recordings on this kube_cluster" },
    since: {
      type: "string",
      valueName: "WHEN",
      description: "started at or after (RFC 3339, or 1h, 7d ago)",
    },
    ...OUTPUT_OPTIONS,
    ...sourceOptions,
  },
  async run(ctx) {
    const out = parseOutput(ctx.values);
    const since = stringOpt(ctx.values, "since");
    const user = stringOpt(ctx.values, "user");
    const cluster = stringOpt(ctx.values, "cluster");
    const store = await recordingSource(ctx);
    const items = (
      await store.list({
        ...(since !== undefined ? { since: parseWhen(since, "--since") } : {}),
        ...(user !== undefined ? { user } : {}),
        ...(cluster !== undefined ? { cluster } : {}),
      } as Parameters<RecordingStore["list"]>[0])
    ).filter(
      (r) => (user === undefined || r.user === user) && (cluster === undefined || r.cluster === cluster),
    );
    const headers = ["SESSION", "USER", "CLUSTER", "POD", "KIND", "STARTED", "DURATION", "BYTES", "NOTE"];
    const row = (r: (typeof items)[number]) => [
      r.sid,
      r.user,
      r.cluster,
      `${r.namespace}/${r.pod}`,
      `${r.kind}${r.tty ? " (tty)" : ""}`,
      `${age(r.started)} ago`,
      r.end ? formatDuration(r.end.duration_ms) : "-",
      r.end ? String(r.end.bytes) : "-",
      r.end?.stopped ?? (r.end ? "" : "no end recorded (running, or its gateway stopped)"),
    ];
    ctx.out(
      renderListing(out, {
        data: items,
        names: () => items.map((r) => r.sid),
        table: () => renderTable(headers, items.map(row)),
        // Wide: the container, the command and the start as a time.
        wide: () =>
          renderTable(
            [...headers, "CONTAINER", "COMMAND", "STARTED AT"],
            items.map((r) => [...row(r), r.container ?? "-", r.command?.join(" ") ?? "-", r.started]),
          ),
      }),
    );
    return 0;
  },
};

const exportCmd: Command = {
  name: "export",
  usage: "SESSION_ID",
  summary: "Write a recording as asciicast v2 to stdout (kubeport ctl recordings export SID > FILE.cast).",
  options: sourceOptions,
  async run(ctx) {
    const store = await recordingSource(ctx);
    const info = await findRecording(store, ctx.positionals[0]);
    for await (const line of castLines(info, store.chunks(info.sid))) ctx.out(line);
    return 0;
  },
};

export const recordingsCommand: Command = {
  name: "recordings",
  summary: "Session recordings: list them, export one as asciicast v2.",
  subcommands: [ls, exportCmd],
};
