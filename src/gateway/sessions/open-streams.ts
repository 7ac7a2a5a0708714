// The open long-lived streams (exec, attach, port-forward, watch, logs -f, proxies, and any other
// response that streams), indexed by user.
import type { StreamSubject } from "./access-check.ts";

/** `stream`: a response without a Content-Length that the request rule (long-lived.ts) did not name. */
export type StreamKind = "exec" | "attach" | "portforward" | "watch" | "logs" | "proxy" | "stream";

/** One open stream: who opened it, where, and how to end it. */
export interface OpenStream extends StreamSubject {
  kind: StreamKind;
  /** ms since the epoch. */
  opened: number;
}

export interface OpenStreams {
  add(s: OpenStream): void;
  /** Removes the stream; false when it was not (or no longer) there. */
  remove(s: OpenStream): boolean;
  has(s: OpenStream): boolean;
  /** A snapshot (safe to end streams while iterating it). */
  all(): OpenStream[];
  /** A snapshot of one user's streams. */
  ofUser(user: string): OpenStream[];
  size(): number;
}

/** Keyed by `identity.user`: a user change re-checks only that user's streams. */
export function createOpenStreams(): OpenStreams {
  const byUser = new Map<string, Set<OpenStream>>();
  let count = 0;
  return {
    add(s) {
      let set = byUser.get(s.identity.user);
      if (!set) {
        set = new Set();
        byUser.set(s.identity.user, set);
      }
      if (!set.has(s)) count++;
      set.add(s);
    },
    remove(s) {
      const set = byUser.get(s.identity.user);
      if (!set?.delete(s)) return false;
      count--;
      if (set.size === 0) byUser.delete(s.identity.user);
      return true;
    },
    has: (s) => byUser.get(s.identity.user)?.has(s) ?? false,
    all: () => [...byUser.values()].flatMap((set) => [...set]),
    ofUser: (user) => [...(byUser.get(user) ?? [])],
    size: () => count,
  };
}
