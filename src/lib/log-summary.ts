// Repeated log lines folded into one per key per interval: the first is written at once, the rest
// are counted and reported in one line with the count when the interval ends. A flood of refused
// requests (5,000 crafted tokens) writes a handful of lines instead of one per request.
import type { Logger } from "./log.ts";

export type SummaryLevel = "debug" | "info" | "warn" | "error";

export interface LogSummary {
  /**
   * Logs `msg` with `fields` once per `key` per interval; later calls with the same key within the
   * interval only count, and one line `msg` with `repeated: N` follows at the end of it.
   */
  log(level: SummaryLevel, key: string, fields: Record<string, unknown>, msg: string): void;
  /** Writes the pending counts now. */
  flush(): void;
  /** Flushes and stops the timer. */
  close(): void;
}

export interface LogSummaryOptions {
  log: Logger;
  intervalMs?: number;
  /**
   * Keys remembered per interval; past it new keys share one bucket, so keys built from request
   * data cannot grow the map without bound.
   */
  maxKeys?: number;
}

interface Entry {
  level: SummaryLevel;
  msg: string;
  fields: Record<string, unknown>;
  /** Calls since the line was last written. */
  repeated: number;
}

const OVERFLOW_KEY = "\u0000overflow";

/** Creates a summary over `log`. The timer runs only while something is pending and never holds the process. */
export function createLogSummary({ log, intervalMs = 10_000, maxKeys = 200 }: LogSummaryOptions): LogSummary {
  const entries = new Map<string, Entry>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const arm = () => {
    if (timer) return;
    timer = setTimeout(flush, intervalMs);
    timer.unref?.();
  };
  // A key that repeated stays for one more interval, so a steady flood writes one line per interval
  // (its count) rather than a first line and a count each time; a quiet key is forgotten.
  const flush = () => {
    timer = undefined;
    for (const [k, e] of entries) {
      if (e.repeated === 0) {
        entries.delete(k);
        continue;
      }
      log[e.level]({ ...e.fields, repeated: e.repeated, interval_s: intervalMs / 1000 }, e.msg);
      e.repeated = 0;
    }
    if (entries.size > 0) arm();
  };

  return {
    log(level, key, fields, msg) {
      if (!log.isLevelEnabled(level)) return;
      let k = key;
      if (!entries.has(k) && entries.size >= maxKeys) {
        k = OVERFLOW_KEY;
        msg = "more distinct log lines than the summary keeps; counted together";
      }
      const e = entries.get(k);
      if (e) {
        e.repeated++;
        e.fields = fields;
        return;
      }
      entries.set(k, { level, msg, fields, repeated: 0 });
      log[level](fields, msg);
      arm();
    },
    flush() {
      if (timer) clearTimeout(timer);
      flush();
    },
    close() {
      if (timer) clearTimeout(timer);
      flush();
      if (timer) clearTimeout(timer);
      timer = undefined;
      entries.clear();
    },
  };
}
