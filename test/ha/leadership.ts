// Who led when, read from each process's own log ("elected leader" … "lost leadership" /
// "released leadership"), and the checks the lock tests make with it: intervals of different
// processes never overlap, and each process calls AWS only inside its own.
import type { SimCall } from "../../src/sim/index.ts";
import type { KubeportProcess } from "../helpers/ha.ts";

export interface Interval {
  token: number;
  /** Epoch ms of "elected leader". */
  from: number;
  /** Epoch ms of the line that ended it; Infinity while it lasts (or when the process was killed). */
  to: number;
}

/** The leadership intervals of `p`, oldest first. */
export function leadership(p: KubeportProcess): Interval[] {
  const out: Interval[] = [];
  let open: Interval | undefined;
  for (const l of p.logs()) {
    if (l.msg === "elected leader") {
      if (open) out.push(open);
      open = { token: Number(l.token), from: l.time, to: Number.POSITIVE_INFINITY };
    } else if (open && (l.msg === "lost leadership" || l.msg === "released leadership")) {
      open.to = l.time;
      out.push(open);
      open = undefined;
    } else if (open && l.msg === "discovery service starting") {
      // A new run (a restart after kill -9): the interval of the killed run ended with it.
      open.to = l.time;
      out.push(open);
      open = undefined;
    }
  }
  if (open) out.push(open);
  return out;
}

/** Every pair of intervals of two different processes that overlap, as readable strings. */
export function overlaps(byProcess: Map<string, Interval[]>): string[] {
  const all = [...byProcess].flatMap(([name, xs]) => xs.map((x) => ({ name, ...x })));
  const out: string[] = [];
  for (const x of all)
    for (const y of all)
      if (x.name < y.name && x.from < y.to && y.from < x.to)
        out.push(
          `${x.name} token ${x.token} [${x.from}, ${x.to}] overlaps ${y.name} token ${y.token} [${y.from}, ${y.to}]`,
        );
  return out;
}

/**
 * AWS calls a process made while it did not hold the lock. A call sent just before the lease
 * ended reaches the simulator a moment later: `slackMs` of it are allowed.
 */
export function pollsOutsideLeadership(
  calls: Map<string, SimCall[]>,
  byProcess: Map<string, Interval[]>,
  slackMs = 250,
  /** Times are shown relative to this (epoch ms). */
  origin = 0,
): string[] {
  const out: string[] = [];
  for (const [name, cs] of calls) {
    const ivs = byProcess.get(name) ?? [];
    for (const c of cs)
      if (!ivs.some((i) => c.at >= i.from && c.at <= i.to + slackMs))
        out.push(`${name} ${c.action} ${c.region} at ${c.at - origin} ms`);
  }
  return out;
}
