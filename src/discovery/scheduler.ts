// Runs each scope on its own schedule: every poll_interval (a little early, never late), with a
// deadline, and with a bound on how many run at once that a slow or hung scope cannot exhaust.
import { type Clock, systemClock } from "../lib/clock.ts";
import { unavailable } from "../lib/errors.ts";

/** Why a scope's signal was aborted at its deadline (the runner names it in the scope's error). */
export class ScopeDeadline extends Error {
  constructor(readonly ms: number) {
    super(`did not finish within scope_timeout (${ms / 1000}s)`);
    this.name = "ScopeDeadline";
  }
}

export interface SchedulerOptions {
  intervalMs: number;
  /** Per run; its signal is aborted with a ScopeDeadline past it. */
  deadlineMs: number;
  /** Runs at once; a run still going after `slowAfterMs` gives its slot up (it keeps running). */
  concurrency?: number;
  slowAfterMs?: number;
  /** Runs one scope; must resolve (not reject) soon after `signal` aborts. */
  run(key: string, signal: AbortSignal): Promise<void>;
  /** false: scopes run only through runNow() (pollOnce without start()). Default true. */
  timers?: boolean;
  clock?: Clock;
  random?: () => number;
}

export interface ScopeScheduler {
  /** Starts scopes not seen before (due at once) and stops those no longer listed. */
  sync(keys: readonly string[]): void;
  /** Runs every scope now (joining runs in flight); resolves when all have ended. */
  runNow(): Promise<void>;
  /** Stops every timer and aborts runs in flight. */
  stop(): Promise<void>;
  running(): number;
}

interface Entry {
  timer?: ReturnType<typeof setTimeout>;
  inFlight?: Promise<void>;
  abort?: AbortController;
  lastStart?: number;
  stopped: boolean;
}

/** A counting semaphore whose holders give their slot back when done or after `slowAfterMs`. */
function createSlots(n: number, slowAfterMs: number) {
  let free = n;
  const waiting: (() => void)[] = [];
  const acquire = async (): Promise<() => void> => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      clearTimeout(slow);
      const next = waiting.shift();
      if (next) next();
      else free++;
    };
    const slow = setTimeout(release, slowAfterMs);
    return release;
  };
  return { acquire };
}

export function createScopeScheduler({
  intervalMs,
  deadlineMs,
  concurrency = 32,
  slowAfterMs = 5_000,
  run,
  timers = true,
  clock = systemClock,
  random = Math.random,
}: SchedulerOptions): ScopeScheduler {
  const entries = new Map<string, Entry>();
  const slots = createSlots(concurrency, slowAfterMs);

  const start = (key: string, e: Entry): Promise<void> => {
    if (e.inFlight) return e.inFlight;
    clearTimeout(e.timer);
    e.lastStart = clock.now();
    const abort = new AbortController();
    e.abort = abort;
    const p = (async () => {
      const release = await slots.acquire();
      const deadline = setTimeout(() => abort.abort(new ScopeDeadline(deadlineMs)), deadlineMs);
      try {
        if (!abort.signal.aborted) await run(key, abort.signal);
      } finally {
        clearTimeout(deadline);
        release();
      }
    })().finally(() => {
      e.inFlight = undefined;
      if (!e.stopped && timers) {
        // The next run is due one interval after this one started (up to 10 % early, never late).
        const due = (e.lastStart ?? clock.now()) + intervalMs * (1 - 0.1 * random());
        e.timer = setTimeout(() => void start(key, e), Math.max(0, due - clock.now()));
      }
    });
    e.inFlight = p;
    return p;
  };

  const stopEntry = (e: Entry) => {
    e.stopped = true;
    clearTimeout(e.timer);
    e.abort?.abort(unavailable("scope stopped"));
  };

  return {
    sync(keys) {
      const want = new Set(keys);
      for (const [key, e] of entries)
        if (!want.has(key)) {
          stopEntry(e);
          entries.delete(key);
        }
      for (const key of keys) {
        if (entries.has(key)) continue;
        const e: Entry = { stopped: false };
        entries.set(key, e);
        if (timers) void start(key, e);
      }
    },
    async runNow() {
      await Promise.all([...entries].map(([key, e]) => start(key, e)));
    },
    async stop() {
      const pending = [...entries.values()].map((e) => e.inFlight);
      for (const e of entries.values()) stopEntry(e);
      entries.clear();
      await Promise.all(pending);
    },
    running: () => [...entries.values()].filter((e) => e.inFlight).length,
  };
}
