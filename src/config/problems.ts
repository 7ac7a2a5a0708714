// ConfigError: every problem found in a config file, each with its key path and line when known.
import { KubeportError } from "../lib/errors.ts";

export interface ConfigProblem {
  /** Key path as written in the file, e.g. `discovery_service.aws[0].types[1]`; "" for the file itself. */
  path: string;
  message: string;
  /** 1-based line in the source, when the problem can be placed. */
  line?: number;
}

/** Thrown by parseConfig/loadConfig; `problems` lists everything wrong at once. */
export class ConfigError extends KubeportError {
  readonly problems: ConfigProblem[];
  readonly source: string;
  constructor(source: string, problems: ConfigProblem[]) {
    super("bad_parameter", formatProblems(source, problems));
    this.name = "ConfigError";
    this.source = source;
    this.problems = problems;
  }
}

/** One line per problem: `path: message (line N)`, under a header naming the source. */
export function formatProblems(source: string, problems: ConfigProblem[]): string {
  const head = `${source}: ${problems.length === 1 ? "1 problem" : `${problems.length} problems`}`;
  const lines = problems.map(
    (p) => `  ${p.path ? `${p.path}: ` : ""}${p.message}${p.line ? ` (line ${p.line})` : ""}`,
  );
  return [head, ...lines].join("\n");
}

/** Renders a key path: identifiers joined with ".", other keys as ["…"], indexes as [n]. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = "";
  for (const seg of segments) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** The closest known key to `word` when it is near enough to be a typo; undefined otherwise. */
export function didYouMean(
  word: string,
  known: readonly string[],
  hints: Record<string, string> = {},
): string | undefined {
  if (hints[word]) return hints[word];
  let best: string | undefined;
  let bestDist = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestDist) {
      best = k;
      bestDist = d;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return best !== undefined && bestDist <= limit ? best : undefined;
}

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
