// The recordings API (`kubeport play` / `ctl recordings` with a user's token): a user sees their own
// session recordings, a role with review_recordings everyone's. Reads go through the recording store.
import type { Hono } from "hono";
import { RECORDING_ACCESS } from "../audit/index.ts";
import { badParameter, notFound, unavailable } from "../lib/errors.ts";
import { encodeFrame, type RecordingInfo, type RecordingStore, SID, WIRE_ERROR } from "../recording/index.ts";
import type { AuditSink, Authenticator, Authorizer, Identity } from "./identity.ts";

export interface RecordingsApiDeps {
  authenticator: Authenticator;
  authorizer: Authorizer;
  store: RecordingStore;
  audit?: AuditSink;
  hostname?: string;
}

const millis = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n))
    throw badParameter(`${name}: ${JSON.stringify(v)} is not milliseconds since the epoch`);
  return n;
};

/**
 * GET /v1/recordings (?since, until: ms; user, cluster), /v1/recordings/:sid (its metadata) and
 * /v1/recordings/:sid/frames (its stored frames, for the CLI to render). A recording the caller may
 * not see is "not found", as one that does not exist: its existence is not told.
 */
export function addRecordingRoutes<E extends object>(app: Hono<E & {}>, deps: RecordingsApiDeps): void {
  const who = async (header: string | undefined) => {
    const identity = await deps.authenticator.authenticate(header);
    return { identity, all: deps.authorizer.mayReviewRecordings?.(identity) === true };
  };
  const visible = (info: RecordingInfo, v: { identity: Identity; all: boolean }) =>
    v.all || info.user === v.identity.user;
  const find = async (sid: string, v: { identity: Identity; all: boolean }) => {
    const info = SID.test(sid) ? await deps.store.get(sid) : undefined;
    if (!info || !visible(info, v)) throw notFound(`recording ${JSON.stringify(sid)} not found`);
    return info;
  };

  app.get("/v1/recordings", async (c) => {
    const v = await who(c.req.header("authorization"));
    const since = millis(c.req.query("since"), "since");
    const until = millis(c.req.query("until"), "until");
    const user = c.req.query("user");
    const cluster = c.req.query("cluster");
    const items = (
      await deps.store.list({
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
      })
    ).filter(
      (r) =>
        visible(r, v) &&
        (user === undefined || r.user === user) &&
        (cluster === undefined || r.cluster === cluster),
    );
    return c.json({ items });
  });

  app.get("/v1/recordings/:sid", async (c) =>
    c.json(await find(c.req.param("sid"), await who(c.req.header("authorization")))),
  );

  app.get("/v1/recordings/:sid/frames", async (c) => {
    const v = await who(c.req.header("authorization"));
    const info = await find(c.req.param("sid"), v);
    deps.audit?.emit({
      event: RECORDING_ACCESS.event,
      code: RECORDING_ACCESS.code,
      time: new Date().toISOString(),
      uid: crypto.randomUUID(),
      ...(deps.hostname ? { server_hostname: deps.hostname } : {}),
      user: v.identity.user,
      roles: v.identity.roles,
      ...(v.identity.tokenId ? { token_id: v.identity.tokenId } : {}),
      sid: info.sid,
      session_user: info.user,
      kubernetes_cluster: info.cluster,
    });
    const chunks = deps.store.chunks(info.sid)[Symbol.asyncIterator]();
    // The first chunk before answering: a store that fails at once is an error status. One that
    // fails after some frames (a missing chunk) cannot change the status any more: the body ends
    // with a WIRE_ERROR frame saying why, and cleanly (a cut body read as a reset connection).
    let first: IteratorResult<Uint8Array> | undefined;
    try {
      first = await chunks.next();
    } catch (err) {
      throw unavailable((err as Error).message, err);
    }
    const body = new ReadableStream<Uint8Array>({
      async pull(ctrl) {
        let n: IteratorResult<Uint8Array>;
        try {
          n = first ?? (await chunks.next());
          first = undefined;
        } catch (err) {
          ctrl.enqueue(encodeFrame(WIRE_ERROR, 0, new TextEncoder().encode((err as Error).message)));
          ctrl.close();
          return;
        }
        if (n.done) ctrl.close();
        else ctrl.enqueue(n.value);
      },
      async cancel() {
        await chunks.return?.();
      },
    });
    return new Response(body, { headers: { "content-type": "application/octet-stream" } });
  });
}
