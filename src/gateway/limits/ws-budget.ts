// Bytes WebSocket sessions hold for their slower side, per session and over the process. A session
// over its share stops reading from the faster side (TCP backpressure reaches that peer) until the
// slower side has taken most of it: memory stays bounded whatever the peers do.
import type { LimitsConfig } from "../../config/index.ts";

/**
 * While the process is over its total, a session may keep only this much before it is paused, so
 * sessions that hold little (an interactive shell) keep flowing while the ones that fill the
 * budget (a stalled reader) wait.
 */
export const PRESSURE_SHARE = 64 * 1024;

export interface WsCaps {
  maxMessageBytes: number;
  perSession: number;
  total: number;
}

export interface WsAccount {
  /** Records what the session holds now; true when it should stop reading from the faster side. */
  update(bytes: number): boolean;
  /** True once the session holds at most half of what it may: read both sides again. */
  relieved(): boolean;
  /** Gives the session's bytes back. */
  close(): void;
}

export interface WsBudget {
  readonly caps: WsCaps;
  /** Bytes held by every open session together. */
  total(): number;
  open(): WsAccount;
}

export const wsCaps = (l: LimitsConfig): WsCaps => ({
  maxMessageBytes: l.ws_max_message_bytes,
  perSession: l.ws_max_buffered_bytes_per_session,
  total: l.ws_max_buffered_bytes_total,
});

/** One budget per process (per gateway). */
export function createWsBudget(caps: WsCaps): WsBudget {
  let total = 0;
  const allowed = () => (total > caps.total ? Math.min(caps.perSession, PRESSURE_SHARE) : caps.perSession);
  return {
    caps,
    total: () => total,
    open() {
      let mine = 0;
      let closed = false;
      return {
        update(bytes) {
          if (closed) return false;
          total += bytes - mine;
          mine = bytes;
          return mine > allowed();
        },
        relieved: () => mine <= allowed() / 2,
        close() {
          if (closed) return;
          closed = true;
          total -= mine;
          mine = 0;
        },
      };
    },
  };
}
