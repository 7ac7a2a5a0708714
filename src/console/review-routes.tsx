/** @jsxImportSource hono/jsx */
// The console's audit log and session recordings. Who sees what is the recordings API's rule
// (gateway/recordings-api.ts): a role with allow.review_recordings (and none denying it) sees the
// audit log and everyone's recordings; anyone else sees only their own recordings. A recording the
// viewer may not see answers as one that does not exist.
import type { Context, Hono, MiddlewareHandler } from "hono";
import { type AuditEvent, type AuditQuery, lastEntries, matcher, RECORDING_ACCESS } from "../audit/index.ts";
import type { WebDeps } from "../gateway/index.ts";
import { parseDuration } from "../lib/duration.ts";
import { castLines, type RecordingInfo, SID } from "../recording/index.ts";
import type { ConsoleEnv } from "./console.tsx";
import { MessagePage } from "./layout.tsx";
import { type AuditFilters, AuditPage } from "./pages/audit.tsx";
import { PlayerPage, RecordingsPage } from "./pages/recordings.tsx";

/** Rows a page shows by default, and at most (?limit=). */
const DEFAULT_ROWS = 200;
const MAX_ROWS = 1000;
/** Filter values are names and times: anything longer is not one. */
const MAX_FILTER_CHARS = 256;

class BadFilter extends Error {}

/** A duration ago ("1h") or a UTC date-time ("2026-12-03 10:00", RFC 3339): ms since the epoch. */
export function parseWhen(text: string, name: string, now = Date.now()): number {
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  const iso = text.trim().replace(" ", "T");
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?$/.test(iso)) {
    // No zone given: UTC, as the page says (the server's zone is no one's).
    const t = Date.parse(/Z|[+-]\d{2}:\d{2}$/.test(iso) || !iso.includes("T") ? iso : `${iso}Z`);
    if (!Number.isNaN(t)) return t;
  }
  throw new BadFilter(
    `${name}: "${text}" is not a duration ago (30m, 1h, 7d) or a UTC date and time (2026-12-03 10:00)`,
  );
}

const rowsOf = (v: string | undefined) => {
  if (v === undefined || v === "") return DEFAULT_ROWS;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_ROWS)
    throw new BadFilter(`limit: must be a whole number from 1 to ${MAX_ROWS}`);
  return n;
};

const field = (c: Context, name: string) => {
  const v = (c.req.query(name) ?? "").trim();
  if (v.length > MAX_FILTER_CHARS) throw new BadFilter(`${name}: longer than ${MAX_FILTER_CHARS} characters`);
  return v;
};

/** Adds /audit, /recordings, /recordings/:sid and /recordings/:sid/cast to the console. */
export function addReviewRoutes(
  app: Hono<ConsoleEnv>,
  deps: WebDeps,
  signedIn: MiddlewareHandler<ConsoleEnv>,
): void {
  const { backend, cache, recordings: store, audit, config } = deps;

  app.get("/audit", signedIn, async (c) => {
    const viewer = c.get("viewer")!;
    if (!viewer.auditor)
      return c.html(
        <MessagePage
          title="Not allowed"
          message="The audit log is for people whose roles allow review_recordings."
          link={{ href: "/web/clusters", text: "Back to your clusters" }}
          viewer={viewer}
        />,
        403,
      );
    const filters: AuditFilters = { user: "", cluster: "", type: "", since: "", until: "" };
    const clusters = cache.clusters().map((k) => k.metadata.name);
    try {
      for (const k of Object.keys(filters) as (keyof AuditFilters)[]) filters[k] = field(c, k);
      const limit = rowsOf(c.req.query("limit"));
      const now = Date.now();
      const q: AuditQuery = {
        ...(filters.user ? { user: filters.user } : {}),
        ...(filters.cluster ? { cluster: filters.cluster } : {}),
        ...(filters.type ? { types: [filters.type] } : {}),
        ...(filters.since ? { since: parseWhen(filters.since, "Since", now) } : {}),
        ...(filters.until ? { until: parseWhen(filters.until, "Until", now) } : {}),
      };
      // The same reading and predicate as `ctl audit search`.
      const { entries } = await lastEntries(backend, limit, matcher(q));
      const events = entries.map((e) => e.entry as AuditEvent).reverse();
      return c.html(
        <AuditPage viewer={viewer} filters={filters} clusters={clusters} events={events} limit={limit} />,
      );
    } catch (err) {
      if (!(err instanceof BadFilter)) throw err;
      return c.html(
        <AuditPage
          viewer={viewer}
          filters={filters}
          clusters={clusters}
          events={[]}
          limit={0}
          error={err.message}
        />,
        400,
      );
    }
  });

  /** The recording `sid` if this viewer may see it (everyone's for auditors, else their own). */
  const visible = async (c: Context<ConsoleEnv>, sid: string): Promise<RecordingInfo | undefined> => {
    if (!store || !SID.test(sid)) return undefined;
    const info = await store.get(sid);
    return info && (c.get("viewer")!.auditor || info.user === c.get("identity")!.user) ? info : undefined;
  };
  const noRecording = (c: Context<ConsoleEnv>) =>
    c.html(
      <MessagePage
        title="No such recording"
        message="There is no recording of that session that you may see."
        link={{ href: "/web/recordings", text: "All recordings" }}
        viewer={c.get("viewer")}
      />,
      404,
    );

  app.get("/recordings", signedIn, async (c) => {
    const viewer = c.get("viewer")!;
    const me = c.get("identity")!.user;
    let user = "";
    let cluster = "";
    let limit = DEFAULT_ROWS;
    try {
      user = viewer.auditor ? field(c, "user") : "";
      cluster = field(c, "cluster");
      limit = rowsOf(c.req.query("limit"));
    } catch (err) {
      if (!(err instanceof BadFilter)) throw err;
      return c.html(
        <MessagePage
          title="Bad filter"
          message={err.message}
          link={{ href: "/web/recordings", text: "All recordings" }}
          viewer={viewer}
        />,
        400,
      );
    }
    const all = store ? await store.list() : [];
    const shown = all
      .filter(
        (r) =>
          (viewer.auditor || r.user === me) &&
          (!user || r.user === user) &&
          (!cluster || r.cluster === cluster),
      )
      .reverse()
      .slice(0, limit);
    return c.html(
      <RecordingsPage
        viewer={viewer}
        recordings={shown}
        everyone={viewer.auditor}
        filters={{ user, cluster }}
        limit={limit}
      />,
    );
  });

  app.get("/recordings/:sid", signedIn, async (c) => {
    const info = await visible(c, c.req.param("sid") ?? "");
    if (!info) return noRecording(c);
    return c.html(<PlayerPage viewer={c.get("viewer")!} recording={info} />);
  });

  // The recording as asciicast v2, for the player (and the download link); each read is audited.
  app.get("/recordings/:sid/cast", signedIn, async (c) => {
    const info = await visible(c, c.req.param("sid") ?? "");
    if (!info || !store) return noRecording(c);
    const identity = c.get("identity")!;
    audit.emit({
      event: RECORDING_ACCESS.event,
      code: RECORDING_ACCESS.code,
      time: new Date().toISOString(),
      uid: crypto.randomUUID(),
      server_hostname: config.kubeport.nodename,
      user: identity.user,
      roles: identity.roles,
      sid: info.sid,
      session_user: info.user,
      kubernetes_cluster: info.cluster,
    });
    const lines = castLines(info, store.chunks(info.sid))[Symbol.asyncIterator]();
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(ctrl) {
        const n = await lines.next();
        if (n.done) ctrl.close();
        else ctrl.enqueue(enc.encode(n.value));
      },
      async cancel() {
        await lines.return?.(undefined);
      },
    });
    return c.body(body, 200, { "content-type": "application/x-asciicast; charset=utf-8" });
  });
}
