// Audit events as one terminal line each. Every value is shown escaped: a request cannot forge a
// line (no newline gets through) or drive the terminal (no ESC, no C1 control, no bidi override).
import type { AuditEvent } from "./events.ts";
import { upgradeEntry } from "./legacy.ts";

// C0 controls, DEL, C1 controls, line/paragraph separators and the bidirectional overrides and
// isolates (they reorder what follows them on screen), and the backslash that escapes them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]/g;

/** `s` with every character a terminal would act on written as `\xHH` / `\u{HHHH}` (and `\` as `\\`). */
export function escapeText(s: string): string {
  return s.replace(UNSAFE, (c) => {
    if (c === "\\") return "\\\\";
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u{${n.toString(16)}}`;
  });
}

/** A value that may hold spaces, quoted (and escaped) so it reads as one field. */
const quoted = (s: string) => `"${escapeText(s).replace(/"/g, '\\"')}"`;
/** A value shown bare when it is one plain word, else quoted. */
const word = (s: string | undefined) =>
  s === undefined || s === ""
    ? "-"
    : /^[\x21-\x7e]+$/.test(s) && !s.includes('"')
      ? escapeText(s)
      : quoted(s);

const where = (e: {
  kubernetes_pod_namespace: string;
  kubernetes_pod_name: string;
  kubernetes_container_name?: string;
}) =>
  word(
    `${e.kubernetes_pod_namespace}/${e.kubernetes_pod_name}${e.kubernetes_container_name ? `/${e.kubernetes_container_name}` : ""}`,
  );

/**
 * What an entry of the old shape (legacy.ts, upgraded) recorded, after its user and cluster, marked
 * "(old format)"; every value escaped. The console's audit page shows it too.
 */
export function legacyDetails(e: Record<string, unknown>): string {
  const s = (k: string) => (typeof e[k] === "string" ? (e[k] as string) : undefined);
  const n = (k: string) => (typeof e[k] === "number" ? (e[k] as number) : undefined);
  const command = Array.isArray(e.initial_command) ? ` ${quoted(e.initial_command.join(" "))}` : "";
  if (e.event === "kube.request") {
    const kind =
      s("resource_kind") &&
      `${s("resource_kind")}${s("resource_subresource") ? `/${s("resource_subresource")}` : ""}`;
    return (
      `${word(s("kube_verb"))} ${word(kind)}${s("resource_namespace") ? ` ns=${word(s("resource_namespace"))}` : ""}` +
      `${s("resource_name") ? ` name=${word(s("resource_name"))}` : ""} ${n("response_code") ?? "-"}` +
      `${n("latency_ms") !== undefined ? ` ${n("latency_ms")}ms` : ""}${s("kubectl_command") ? ` cmd=${quoted(s("kubectl_command")!)}` : ""} (old format)`
    );
  }
  const pod = where(e as unknown as Parameters<typeof where>[0]);
  const ended =
    n("duration_ms") !== undefined || n("tx") !== undefined
      ? ` tx=${n("tx") ?? 0}B rx=${n("rx") ?? 0}B${s("exitCode") ? ` exit=${word(s("exitCode"))}` : ""}` +
        `${n("duration_ms") !== undefined ? ` ${n("duration_ms")}ms` : ""}${s("ended_by") ? ` ended_by=${quoted(s("ended_by")!)}` : ""}`
      : "";
  return `${word(s("session_type") ?? "portforward")} ${pod}${command}${ended} (old format)`;
}

/**
 * One line for an audit event; a value a client chose is never printed raw. Entries of the old
 * shape (before Teleport's event names) are shown in the same style, marked "(old format)".
 */
export function formatAuditLine(stored: unknown): string {
  const raw = upgradeEntry(stored);
  if (typeof raw !== "object" || raw === null || typeof (raw as { event?: unknown }).event !== "string")
    return escapeText(JSON.stringify(raw));
  const e = raw as AuditEvent;
  const head = `${word(e.time)} ${word(e.code)} ${word(e.event)}`;
  if ((raw as { legacy?: unknown }).legacy === true)
    return `${head} ${word(e.user)} ${word(e.kubernetes_cluster)} ${legacyDetails(raw as Record<string, unknown>)}`;
  const times = e.count !== undefined && e.count > 1 ? ` ×${e.count}` : "";
  const from = e["addr.remote"] ? ` from=${word(e["addr.remote"])}` : "";
  switch (e.event) {
    case "kube.request":
      return (
        `${head} ${word(e.user)} ${word(e.kubernetes_cluster)} ${word(e.verb)} ${word(e.request_path)} ${e.response_code}` +
        `${e.latency_ms !== undefined ? ` ${e.latency_ms}ms` : ""}${e.kubectl_command ? ` cmd=${quoted(e.kubectl_command)}` : ""}` +
        `${e.error ? ` error=${quoted(e.error)}` : ""}${from}${times}`
      );
    case "auth":
      return (
        `${head} ${word(e.user)} ${word(e.kubernetes_cluster)} ${word(e.verb)} ${word(e.request_path)} ${e.response_code}` +
        ` ${word(e.reason)}${e.denied_by ? ` by=${word(e.denied_by)}` : ""} error=${quoted(e.error)}` +
        `${e.token_id ? ` jti=${word(e.token_id)}` : ""}${from}${times}`
      );
    case "session.start":
      return (
        `${head} ${word(e.user)} ${word(e.kubernetes_cluster)} sid=${word(e.sid)} ${e.session_type} ${where(e)}` +
        `${e.initial_command?.length ? ` ${quoted(e.initial_command.join(" "))}` : ""}${e.interactive ? " tty" : ""}` +
        `${e.size ? ` size=${word(e.size)}` : ""} recording=${word(e.session_recording)}${from}`
      );
    case "session.end":
      return (
        `${head} ${word(e.user)} ${word(e.kubernetes_cluster)} sid=${word(e.sid)} ${e.session_type} ${where(e)} ${e.duration_ms}ms` +
        `${e.ended_by ? ` ended_by=${quoted(e.ended_by)}` : ""}`
      );
    case "exec":
      return `${head} ${word(e.user)} ${word(e.kubernetes_cluster)} sid=${word(e.sid)} ${where(e)} ${quoted(e.command)} exit=${word(e.exitCode)}${e.exitError ? ` error=${quoted(e.exitError)}` : ""}`;
    case "session.data":
      return `${head} ${word(e.user)} ${word(e.kubernetes_cluster)} sid=${word(e.sid)} tx=${e.tx}B rx=${e.rx}B`;
    case "resize":
      return `${head} ${word(e.user)} ${word(e.kubernetes_cluster)} sid=${word(e.sid)} size=${word(e.size)}`;
    case "port":
      return (
        `${head} ${word(e.user)} ${word(e.kubernetes_cluster)} sid=${word(e.sid)} ${where(e)}` +
        `${e.duration_ms !== undefined ? ` ${e.duration_ms}ms tx=${e.tx ?? 0}B rx=${e.rx ?? 0}B` : ""}` +
        `${e.ended_by ? ` ended_by=${quoted(e.ended_by)}` : ""}${from}`
      );
    case "client.disconnect":
      return `${head} ${word(e.user)} ${word(e.kubernetes_cluster)} sid=${word(e.sid)} reason=${quoted(e.reason)}`;
    case "session.recording":
      return `${head} ${word(e.user)} ${word(e.kubernetes_cluster)} sid=${word(e.sid)} ${quoted(e.message)}`;
    case "session.recording.access":
      return `${head} ${word(e.user)} ${word(e.kubernetes_cluster)} sid=${word(e.sid)} of=${word(e.session_user)}${from}`;
    default:
      return `${head} ${escapeText(JSON.stringify(raw))}`;
  }
}
