// The events of one exec/attach/port-forward session, in order and under one session id: start
// (written before anything can end it; an interactive one with the terminal's size), resizes and
// recording notes, then exec, session.data and end.
import {
  CLIENT_DISCONNECT,
  type EventType,
  EXEC,
  EXEC_FAILURE,
  PORT_FORWARD,
  PORT_FORWARD_STOP,
  RESIZE,
  SESSION_DATA,
  SESSION_END,
  SESSION_START,
  type SessionEvent,
} from "../../audit/index.ts";
import type { AuditSink, Grant, Identity } from "../identity.ts";

export interface SessionFacts {
  sid: string;
  kind: "exec" | "attach" | "portforward";
  identity: Identity;
  grant: Grant;
  cluster: string;
  namespace: string;
  pod: string;
  container?: string;
  command?: string[];
  /** kubectl -t. */
  tty: boolean;
  /** off, best_effort, strict. */
  recording: string;
  addr?: string;
  hostname?: string;
}

/** How the session ended. */
export interface SessionOutcome {
  /** Bytes the user sent, bytes the pod sent. */
  tx: number;
  rx: number;
  exitCode?: number;
  exitError?: string;
  durationMs: number;
  /** The gateway ended it (revocation message, recording failure). */
  endedBy?: string;
}

export interface SessionAudit {
  readonly sid: string;
  /**
   * session.start (port: T3003I). Call once, before the relay can deliver anything. An interactive
   * session's start waits (at most `sizeWaitMs`) for the terminal's size, which kubectl sends as its
   * first message, so the event carries `size` as Teleport's does; it keeps the session's start time
   * and is written before any other event of the session whatever comes first.
   */
  start(): void;
  /** The terminal's size: the first goes into session.start, later ones are resize events. */
  resize(cols: number, rows: number): void;
  /** An event about the session's recording (K2010W, K2011E). */
  note(type: EventType, message: string, bytes?: number): void;
  /** client.disconnect (when the gateway ended it), exec, session.data, session.end; once. */
  end(outcome: SessionOutcome): void;
}

/** How long an interactive session's start waits for the terminal size (kubectl sends it at once). */
export const SIZE_WAIT_MS = 3000;

/** A session's audit trail; `ei` numbers its events in the order written. */
export function sessionAudit(
  audit: AuditSink | undefined,
  f: SessionFacts,
  { sizeWaitMs = SIZE_WAIT_MS }: { sizeWaitMs?: number } = {},
): SessionAudit {
  let ei = 0;
  let started = false;
  let ended = false;
  let waiting: ReturnType<typeof setTimeout> | undefined;
  const startedAt = new Date();
  const base = (time = new Date()) => {
    const b: Record<string, unknown> = {
      time: time.toISOString(),
      uid: crypto.randomUUID(),
      sid: f.sid,
      ei: ei++,
      proto: "kube",
      user: f.identity.user,
      roles: f.identity.roles,
      kubernetes_cluster: f.cluster,
      kubernetes_users: f.grant.kubernetesUsers.slice(0, 1),
      kubernetes_groups: f.grant.kubernetesGroups,
      kubernetes_pod_name: f.pod,
      kubernetes_pod_namespace: f.namespace,
    };
    if (f.identity.tokenId) b.token_id = f.identity.tokenId;
    if (f.container) b.kubernetes_container_name = f.container;
    if (f.addr) b["addr.remote"] = f.addr;
    if (f.hostname) b.server_hostname = f.hostname;
    return b;
  };
  const emit = (type: EventType, fields: Record<string, unknown>, time?: Date) =>
    audit?.emit({ event: type.event, code: type.code, ...base(time), ...fields } as unknown as SessionEvent);
  const port = f.kind === "portforward";
  const session = f.kind === "portforward" ? undefined : f.kind;
  /** Writes session.start now (size: "W:H" when known), once, dated when the session started. */
  const writeStart = (size?: string) => {
    if (waiting) clearTimeout(waiting);
    waiting = undefined;
    if (started) return;
    started = true;
    if (port) return emit(PORT_FORWARD, {}, startedAt);
    emit(
      SESSION_START,
      {
        session_type: session,
        ...(f.command?.length ? { initial_command: f.command } : {}),
        interactive: f.tty,
        ...(size ? { size } : {}),
        session_recording: f.recording,
      },
      startedAt,
    );
  };
  return {
    sid: f.sid,
    start() {
      if (started || waiting) return;
      if (!f.tty || port) return writeStart();
      waiting = setTimeout(() => writeStart(), sizeWaitMs);
      (waiting as { unref?: () => void }).unref?.();
    },
    resize(cols, rows) {
      if (ended) return;
      if (!started) {
        if (waiting) writeStart(`${cols}:${rows}`);
        return;
      }
      emit(RESIZE, { size: `${cols}:${rows}` });
    },
    note(type, message, bytes) {
      if (ended || (!started && !waiting)) return;
      writeStart();
      emit(type, { message, ...(bytes !== undefined ? { bytes } : {}) });
    },
    end(o) {
      if (ended) return;
      writeStart();
      ended = true;
      const duration_ms = Math.round(o.durationMs);
      if (o.endedBy !== undefined) emit(CLIENT_DISCONNECT, { reason: o.endedBy });
      if (port) {
        emit(PORT_FORWARD_STOP, {
          tx: o.tx,
          rx: o.rx,
          duration_ms,
          ...(o.endedBy ? { ended_by: o.endedBy } : {}),
        });
        return;
      }
      if (session === "exec") {
        const failed = o.exitCode === undefined || o.exitCode !== 0;
        emit(failed ? EXEC_FAILURE : EXEC, {
          command: (f.command ?? []).join(" "),
          exitCode: o.exitCode === undefined ? "" : String(o.exitCode),
          ...(failed
            ? { exitError: o.exitError ?? o.endedBy ?? "the session ended without an exit status" }
            : {}),
        });
      }
      emit(SESSION_DATA, { tx: o.tx, rx: o.rx });
      emit(SESSION_END, {
        session_type: session,
        interactive: f.tty,
        participants: [f.identity.user],
        session_start: startedAt.toISOString(),
        session_stop: new Date().toISOString(),
        ...(f.command?.length ? { initial_command: f.command } : {}),
        session_recording: f.recording,
        duration_ms,
        ...(o.endedBy !== undefined ? { ended_by: o.endedBy } : {}),
      });
    },
  };
}
