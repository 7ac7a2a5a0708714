// The session stage of forward: an exec/attach/port-forward relay with its audit trail (one sid,
// start before anything is relayed), its recording (a tap on the relay, per audit.record_session)
// and its registration with the revoker.
import type { Server } from "bun";
import { RECORDING_FAILURE, RECORDING_LIMIT } from "../audit/index.ts";
import { unavailable } from "../lib/errors.ts";
import { type Recorder, startRecorder } from "../recording/index.ts";
import { type SessionAudit, sessionAudit } from "./audit/index.ts";
import { proxyWebSocket, type RelayTap, type WsRelay, type WsSession } from "./forward/websocket.ts";
import type { ChainDeps, Ready } from "./middleware.ts";
import { sessionRecordingMode } from "./recording-mode.ts";
import { revocationStatus, streamRequest } from "./sessions/index.ts";
import { kubeStatus } from "./status.ts";

/**
 * Relays an exec/attach/port-forward session: its audit trail under one session id (start on record
 * before anything is relayed), its recording (exec/attach, per audit.record_session: best_effort
 * goes on without one, strict refuses a session it cannot record and ends one whose store fails),
 * and its registration with the revoker.
 */
export async function relaySession(
  deps: ChainDeps,
  r: Ready,
  { server, url, tls, addr }: { server: Server<WsSession>; url: string; tls: { ca?: string }; addr?: string },
): Promise<Response | undefined> {
  const { cluster, search, info, identity, grant } = r;
  const clusterName = cluster.metadata.name;
  const kind = (info.subresource ?? "exec") as "exec" | "attach" | "portforward";
  const q = new URLSearchParams(search);
  const tty = kind !== "portforward" && (q.get("tty") === "true" || q.get("tty") === "1");
  const container = q.get("container") ?? undefined;
  const command = q.getAll("command");
  const sid = Bun.randomUUIDv7();
  const rec = kind === "portforward" ? undefined : deps.recording;
  const { mode, setBy } = rec ? sessionRecordingMode(rec.mode, grant) : { mode: "off" as const, setBy: "" };
  const audit = sessionAudit(deps.audit, {
    sid,
    kind,
    identity,
    grant,
    cluster: clusterName,
    namespace: info.namespace ?? "",
    pod: info.name ?? "",
    ...(container ? { container } : {}),
    ...(command.length ? { command } : {}),
    tty,
    recording: mode,
    ...(addr ? { addr } : {}),
    ...(deps.hostname ? { hostname: deps.hostname } : {}),
  });
  let relay: WsRelay | undefined;
  let recorder: Recorder | undefined;
  let startProblem: string | undefined;
  if (rec && mode !== "off") {
    const recorderFailed = (message: string) => {
      rec.onFailure?.(message);
      audit.note(RECORDING_FAILURE, message);
      if (mode === "strict")
        relay?.end(kubeStatus(503, `session ended: it cannot be recorded (${setBy}: strict): ${message}`));
    };
    try {
      recorder = await startRecorder({
        store: rec.store,
        maxBytes: rec.maxBytes,
        meta: {
          version: 1,
          sid,
          kind: kind as "exec" | "attach",
          user: identity.user,
          cluster: clusterName,
          namespace: info.namespace ?? "",
          pod: info.name ?? "",
          ...(container ? { container } : {}),
          ...(command.length ? { command } : {}),
          tty,
          started: new Date().toISOString(),
          ...(deps.hostname ? { server: deps.hostname } : {}),
        },
        onResize: (cols, rows) => audit.resize(cols, rows),
        onLimit: (message, bytes) => audit.note(RECORDING_LIMIT, message, bytes),
        onFailure: recorderFailed,
      });
    } catch (err) {
      const message = `recording store ${rec.store.name} cannot be written: ${(err as Error)?.message ?? err}`;
      rec.onFailure?.(message);
      if (mode === "strict")
        throw unavailable(`this session cannot be recorded (${setBy}: strict): ${message}`, err);
      startProblem = message;
    }
  }
  let untrack: (() => void) | undefined;
  let response: Response | undefined;
  try {
    response = await proxyWebSocket({
      request: r.req,
      server,
      url,
      headers: r.upstreamHeaders,
      protocols: r.protocols!,
      groups: r.groups,
      tls,
      budget: deps.limits.ws,
      onLimit: (limit) => deps.metrics?.limited.inc({ limit }),
      ...(recorder ? { tap: recorder } : kind === "portforward" ? {} : { tap: resizeTap(audit) }),
      onStart: (started) => {
        relay = started;
        audit.start();
        if (startProblem) audit.note(RECORDING_FAILURE, startProblem);
        untrack = deps.sessions?.track(
          { kind, identity, cluster: clusterName, request: streamRequest(r.grant, r.info, identity.user) },
          (rev) => started.end(revocationStatus(rev)),
        );
        deps.metrics?.sessions.inc({ cluster: clusterName });
      },
      onEnd: (res) => {
        untrack?.();
        r.release?.();
        deps.metrics?.sessions.dec({ cluster: clusterName });
        audit.end({
          tx: res.bytesIn,
          rx: res.bytesOut,
          durationMs: res.durationMs,
          ...(res.exitCode !== undefined ? { exitCode: res.exitCode } : {}),
          ...(res.exitError !== undefined ? { exitError: res.exitError } : {}),
          ...(res.endedBy !== undefined ? { endedBy: res.endedBy } : {}),
        });
        void recorder?.close(res.exitCode !== undefined ? { exitCode: res.exitCode } : {});
      },
    });
  } catch (err) {
    void recorder?.close({ stopped: "the session did not start: the cluster could not be reached" });
    throw err;
  }
  if (response)
    void recorder?.close({ stopped: `the session did not start: the cluster answered ${response.status}` });
  return response;
}

/** Without a recorder, the client's resize messages still reach the audit trail. */
function resizeTap(audit: SessionAudit): RelayTap {
  return {
    fromClient(data) {
      if (typeof data === "string" || data[0] !== 4) return;
      try {
        const { Width, Height } = JSON.parse(new TextDecoder().decode(data.subarray(1))) as Record<
          string,
          unknown
        >;
        if (Number.isInteger(Width) && Number.isInteger(Height))
          audit.resize(Width as number, Height as number);
      } catch {
        // not a resize message
      }
    },
    fromUpstream() {},
  };
}
