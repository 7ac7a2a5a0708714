// Refusals aggregated: one event per (identity, cluster, reason) per second, with a count, so a
// flood of refused requests writes a few events a second instead of one per request.
import type { AuditEvent } from "../../audit/index.ts";

export interface RefusalAggregator {
  /** Counts one refusal; the first of its key in a window is the event kept (its fields, its time). */
  add(key: string, owner: string, ev: AuditEvent): void;
  /** Emits every open window now (flush, close). */
  drain(): void;
  /** Open windows (tests). */
  open(): number;
}

interface Window {
  ev: AuditEvent;
  owner: string;
  count: number;
  closesAt: number;
}

/**
 * Windows open at a key's first refusal and close `windowMs` later, when their event is handed to
 * `emit` with `count` set. Keys are bounded (`maxKeys`): past it every open window is emitted at
 * once, so a flood of distinct keys costs events, not memory.
 */
export function createRefusalAggregator({
  emit,
  windowMs = 1000,
  maxKeys = 10_000,
  now = () => performance.now(),
}: {
  emit: (ev: AuditEvent, owner: string) => void;
  windowMs?: number;
  maxKeys?: number;
  now?: () => number;
}): RefusalAggregator & { tick(): void } {
  const windows = new Map<string, Window>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const close = (key: string, w: Window) => {
    windows.delete(key);
    w.ev.count = w.count;
    emit(w.ev, w.owner);
  };
  const tick = () => {
    timer = undefined;
    const t = now();
    // Map order is opening order: stop at the first window still open.
    for (const [key, w] of windows) {
      if (w.closesAt > t) break;
      close(key, w);
    }
    arm();
  };
  const arm = () => {
    if (timer || windows.size === 0) return;
    const first = windows.values().next().value as Window;
    timer = setTimeout(tick, Math.max(1, first.closesAt - now()));
    timer.unref?.();
  };
  return {
    add(key, owner, ev) {
      const t = now();
      const w = windows.get(key);
      if (w && w.closesAt > t) {
        w.count++;
        return;
      }
      // Its window is over (the timer has not run yet): that event goes out, a new window opens.
      if (w) close(key, w);
      if (windows.size >= maxKeys) for (const [k, open] of windows) close(k, open);
      windows.set(key, { ev, owner, count: 1, closesAt: t + windowMs });
      arm();
    },
    drain() {
      for (const [k, w] of windows) close(k, w);
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    open: () => windows.size,
    tick,
  };
}
