/** @jsxImportSource hono/jsx */
// Session recordings: the list (yours, or everyone's with review_recordings) and one played in the
// browser with the asciinema player (its bundle and play.js from /web/assets: no inline script).

import { escapeText } from "../../audit/index.ts";
import { formatDuration } from "../../lib/duration.ts";
import type { RecordingInfo } from "../../recording/index.ts";
import { Page, type Viewer } from "../layout.tsx";

const when = (iso: string) => iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "");
const where = (r: RecordingInfo) =>
  escapeText(`${r.namespace}/${r.pod}${r.container ? `/${r.container}` : ""}`);
const command = (r: RecordingInfo) => escapeText(r.command?.join(" ") ?? "");
const length = (r: RecordingInfo) =>
  r.end
    ? formatDuration(Math.max(r.end.duration_ms, 1))
    : "no end recorded (running, or the gateway stopped)";

export function RecordingsPage({
  viewer,
  recordings,
  everyone,
  filters,
  limit,
}: {
  viewer: Viewer;
  /** Newest first. */
  recordings: RecordingInfo[];
  /** The viewer sees everyone's (review_recordings), else only their own. */
  everyone: boolean;
  filters: { user: string; cluster: string };
  limit: number;
}) {
  return (
    <Page title="Session recordings" viewer={viewer} section="recordings">
      <h1>Session recordings</h1>
      <p>
        {everyone
          ? "Recorded exec and attach sessions of everyone (your roles allow review_recordings)."
          : "Your own recorded exec and attach sessions."}
      </p>
      <form method="get" action="/web/recordings" class="filters">
        {everyone ? (
          <div>
            <label for="r-user">User</label>
            <input id="r-user" name="user" type="text" value={filters.user} autocomplete="off" />
          </div>
        ) : null}
        <div>
          <label for="r-cluster">Cluster</label>
          <input id="r-cluster" name="cluster" type="text" value={filters.cluster} autocomplete="off" />
        </div>
        <div class="actions">
          <button type="submit">Filter</button>
        </div>
      </form>
      {recordings.length === 0 ? (
        <p class="notice">No recording matches.</p>
      ) : (
        <div class="table-wrap">
          <table class="recordings-table stack">
            <caption>
              {recordings.length === limit
                ? `The ${limit} most recent recordings, newest first`
                : `${recordings.length} recording${recordings.length === 1 ? "" : "s"}, newest first`}
            </caption>
            <thead>
              <tr>
                <th scope="col">Started (UTC)</th>
                <th scope="col">User</th>
                <th scope="col">Cluster</th>
                <th scope="col">Pod</th>
                <th scope="col">Command</th>
                <th scope="col">Length</th>
                <th scope="col">
                  <span class="skip">Play</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {recordings.map((r) => (
                <tr>
                  <td data-label="Started" class="nowrap">
                    <time datetime={r.started}>{when(r.started)}</time>
                  </td>
                  <td data-label="User">{escapeText(r.user)}</td>
                  <td data-label="Cluster">{escapeText(r.cluster)}</td>
                  <td data-label="Pod">{where(r)}</td>
                  <td data-label="Command">
                    <code>{command(r)}</code>
                  </td>
                  <td data-label="Length">{length(r)}</td>
                  <td>
                    <a class="button" href={`/web/recordings/${r.sid}`}>
                      Play
                      <span class="skip">
                        {" "}
                        the session of {escapeText(r.user)} started {when(r.started)}
                      </span>
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

export function PlayerPage({ viewer, recording }: { viewer: Viewer; recording: RecordingInfo }) {
  const r = recording;
  const cast = `/web/recordings/${r.sid}/cast`;
  return (
    <Page
      title="Session recording"
      viewer={viewer}
      section="recordings"
      styles={["/web/assets/asciinema-player.css"]}
      scripts={["/web/assets/asciinema-player.min.js", "/web/assets/play.js"]}
    >
      <h1>
        {escapeText(r.user)} on {escapeText(r.cluster)}
      </h1>
      <dl class="facts">
        <dt>Pod</dt>
        <dd>{where(r)}</dd>
        <dt>Command</dt>
        <dd>
          <code>{command(r) || "(none)"}</code>
        </dd>
        <dt>Started</dt>
        <dd>
          <time datetime={r.started}>{when(r.started)} UTC</time>
        </dd>
        <dt>Length</dt>
        <dd>{length(r)}</dd>
        {r.end?.stopped ? (
          <>
            <dt>Recording stopped</dt>
            <dd>{escapeText(r.end.stopped)}</dd>
          </>
        ) : null}
        <dt>Session</dt>
        <dd>
          <code>{r.sid}</code>
        </dd>
      </dl>
      <div class="actions">
        <button type="button" data-player-toggle={r.sid} aria-controls={`player-${r.sid}`} disabled>
          Play
        </button>
        <a class="button secondary" href={cast} download={`${r.sid}.cast`}>
          Download (asciicast)
        </a>
        <a class="button secondary" href="/web/recordings">
          All recordings
        </a>
      </div>
      <section class="player" id={`player-${r.sid}`} data-cast={cast} aria-label="Session player">
        <noscript>
          The player needs JavaScript; download the recording and play it with asciinema or kubeport play.
        </noscript>
      </section>
    </Page>
  );
}
