// Replays a recording's output in the terminal at its own pace (or faster), like `tsh play`.
import type { CastEvent } from "./asciicast.ts";

export interface PlayOptions {
  /** 2 = twice as fast. */
  speed?: number;
  /** Pauses longer than this many seconds (at speed 1) are cut to it; like asciinema's idle_time_limit. */
  idleLimitSec?: number;
  write: (text: string) => void;
  /** Waits (tests pass one that does not). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
}

const realSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });

/** Writes each output event after the pause before it; returns the seconds of recording played. */
export async function play(events: AsyncIterable<CastEvent>, opts: PlayOptions): Promise<number> {
  const { speed = 1, idleLimitSec, write, sleep = realSleep, signal } = opts;
  let last = 0;
  for await (const [t, code, data] of events) {
    if (signal?.aborted) break;
    let gap = Math.max(0, t - last);
    if (idleLimitSec !== undefined) gap = Math.min(gap, idleLimitSec);
    last = t;
    if (gap > 0) await sleep((gap * 1000) / speed, signal);
    if (code === "o") write(data);
  }
  return last;
}
