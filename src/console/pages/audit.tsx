/** @jsxImportSource hono/jsx */
// The audit log for auditors: a filter form (user, cluster, type, time) over the same search
// `ctl audit search` runs, and the newest matching events in a table.
import { type AuditEvent, EVENT_TYPES, escapeText, legacyDetails } from "../../audit/index.ts";
import { Page, type Viewer } from "../layout.tsx";

export interface AuditFilters {
  user: string;
  cluster: string;
  type: string;
  since: string;
  until: string;
}

/** What one event did, in words (values escaped as `ctl audit` escapes them: no control or bidi character). */
export function eventDetails(e: AuditEvent): string {
  const t = (s: string | undefined) => escapeText(s ?? "");
  const pod = (x: { kubernetes_pod_namespace: string; kubernetes_pod_name: string }) =>
    t(`${x.kubernetes_pod_namespace}/${x.kubernetes_pod_name}`);
  // An entry of the old shape (audit/legacy.ts): what it recorded, marked as such.
  if ((e as { legacy?: unknown }).legacy === true)
    return legacyDetails(e as unknown as Record<string, unknown>);
  switch (e.event) {
    case "kube.request":
      return `${t(e.verb)} ${t(e.request_path)} → ${e.response_code}${e.error ? ` (${t(e.error)})` : ""}`;
    case "auth":
      return `${t(e.verb)} ${t(e.request_path)} → ${e.response_code} ${t(e.reason)}: ${t(e.error)}${e.denied_by ? ` (by ${t(e.denied_by)})` : ""}`;
    case "session.start":
      return `${e.session_type} ${pod(e)}${e.initial_command?.length ? ` ${t(e.initial_command.join(" "))}` : ""}${e.interactive ? " (tty)" : ""}`;
    case "session.end":
      return `${e.session_type} ${pod(e)} after ${e.duration_ms} ms${e.ended_by ? `, ended by ${t(e.ended_by)}` : ""}`;
    case "exec":
      return `${pod(e)} ${t(e.command)} exit ${t(String(e.exitCode ?? ""))}`;
    case "session.data":
      return `sent ${e.tx} B, received ${e.rx} B`;
    case "resize":
      return `terminal ${t(e.size)}`;
    case "port":
      return `port-forward ${pod(e)}${e.duration_ms !== undefined ? ` for ${e.duration_ms} ms` : ""}`;
    case "client.disconnect":
      return t(e.reason);
    case "session.recording":
      return t(e.message);
    case "session.recording.access":
      return `played the recording of ${t(e.session_user)}`;
    default:
      return escapeText(JSON.stringify(e));
  }
}

/** One end of the time range (Since or Until): a duration ago or a UTC time, as the #time-hint says. */
function TimeField({
  name,
  label,
  value,
  placeholder,
}: {
  name: "since" | "until";
  label: string;
  value: string;
  placeholder: string;
}) {
  return (
    <div>
      <label for={`f-${name}`}>{label}</label>
      <input
        id={`f-${name}`}
        name={name}
        type="text"
        value={value}
        placeholder={placeholder}
        aria-describedby="time-hint"
      />
    </div>
  );
}

const sidOf = (e: AuditEvent) => ("sid" in e && typeof e.sid === "string" ? e.sid : undefined);

export function AuditPage({
  viewer,
  filters,
  clusters,
  events,
  limit,
  error,
}: {
  viewer: Viewer;
  filters: AuditFilters;
  /** Cluster names to suggest. */
  clusters: string[];
  /** Newest first. */
  events: AuditEvent[];
  limit: number;
  error?: string;
}) {
  return (
    <Page title="Audit log" viewer={viewer} section="audit">
      <h1>Audit log</h1>
      <form
        method="get"
        action="/web/audit"
        class="filters"
        aria-describedby={error ? "audit-error" : undefined}
      >
        <div>
          <label for="f-user">User</label>
          <input id="f-user" name="user" type="text" value={filters.user} autocomplete="off" />
        </div>
        <div>
          <label for="f-cluster">Cluster</label>
          <input
            id="f-cluster"
            name="cluster"
            type="text"
            list="cluster-names"
            value={filters.cluster}
            autocomplete="off"
          />
          <datalist id="cluster-names">
            {clusters.map((c) => (
              <option value={c} />
            ))}
          </datalist>
        </div>
        <div class="wide">
          <label for="f-type">Type</label>
          <select id="f-type" name="type">
            <option value="" selected={filters.type === ""}>
              any
            </option>
            {EVENT_TYPES.map((t) => (
              <option value={t.code} selected={filters.type === t.code || filters.type === t.event}>
                {`${t.event} (${t.code})`}
              </option>
            ))}
          </select>
        </div>
        <TimeField name="since" label="Since" value={filters.since} placeholder="1h, 7d or a UTC time" />
        <TimeField name="until" label="Until" value={filters.until} placeholder="now" />
        <div class="actions">
          <button type="submit">Search</button>
          <a class="button secondary" href="/web/audit">
            Clear
          </a>
        </div>
      </form>
      <p class="hint" id="time-hint">
        Times: a duration ago (30m, 1h, 7d) or a date and time in UTC (2026-12-03 10:00).
      </p>
      {error ? (
        <p class="error" role="alert" id="audit-error">
          {error}
        </p>
      ) : events.length === 0 ? (
        <p class="notice">No event matches.</p>
      ) : (
        <div class="table-wrap">
          <table class="audit-table stack">
            <caption>
              {events.length === limit
                ? `The ${limit} most recent matching events, newest first`
                : `${events.length} matching event${events.length === 1 ? "" : "s"}, newest first`}
            </caption>
            <thead>
              <tr>
                <th scope="col">Time (UTC)</th>
                <th scope="col">Type</th>
                <th scope="col">User</th>
                <th scope="col">Cluster</th>
                <th scope="col">What</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => {
                const sid = sidOf(e);
                return (
                  <tr data-uid={e.uid}>
                    <td data-label="Time" class="nowrap">
                      <time datetime={e.time}>{e.time.replace("T", " ").replace(/Z$/, "")}</time>
                    </td>
                    <td data-label="Type">
                      {e.event} <span class="muted">{e.code}</span>
                      {e.count !== undefined && e.count > 1 ? ` ×${e.count}` : ""}
                    </td>
                    <td data-label="User">{escapeText(e.user ?? "-")}</td>
                    <td data-label="Cluster">{escapeText(e.kubernetes_cluster ?? "-")}</td>
                    <td data-label="What" class="wrap">
                      {eventDetails(e)}
                      {sid && (e.event === "session.start" || e.event === "session.end") ? (
                        <>
                          {" "}
                          <a href={`/web/recordings/${sid}`}>
                            recording<span class="skip"> of session {sid}</span>
                          </a>
                        </>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
