// Whether the SQLite registry accepts writes: set by a write that failed for lack of disk (full,
// read-only, I/O error), cleared by the next one that succeeds. While set, a probe runs every
// second (checkpoint the WAL to give its space back, then a tiny write), so writing resumes as
// soon as space returns even when nothing else writes.
import type { Logger } from "../../lib/log.ts";

/** Failures of the disk under the file, not of a statement: the registry refuses every write. */
const DISK_PROBLEM =
  /database or disk is full|disk I\/O error|readonly database|unable to open database file|SQLITE_(FULL|IOERR|READONLY|CANTOPEN)/i;

export interface WriteHealth {
  failed(err: unknown): void;
  succeeded(): void;
  /** Why writes fail now ("<path>: database or disk is full"), or undefined. */
  problem(): string | undefined;
  stop(): void;
}

export interface WriteHealthOptions {
  path: string;
  log: Logger;
  /** Tries to write (throws while it still cannot); called every `probeMs` while writes fail. */
  probe: () => void;
  probeMs?: number;
}

export function createWriteHealth({ path, log, probe, probeMs = 1000 }: WriteHealthOptions): WriteHealth {
  let problem: string | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  const stopProbing = () => {
    clearInterval(timer);
    timer = undefined;
  };
  const health: WriteHealth = {
    failed(err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (!DISK_PROBLEM.test(msg)) return;
      if (problem === undefined)
        log.error({ path, err: msg }, "the registry refuses writes (its disk); retrying every second");
      problem = `${path}: ${msg}`;
      if (timer) return;
      timer = setInterval(() => {
        try {
          probe();
        } catch {
          // still failing: `failed` was told by the write itself
        }
      }, probeMs);
      timer.unref?.();
    },
    succeeded() {
      if (problem === undefined) return;
      problem = undefined;
      stopProbing();
      log.info({ path }, "the registry accepts writes again");
    },
    problem: () => problem,
    stop: stopProbing,
  };
  return health;
}
