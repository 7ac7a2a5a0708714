// Problems found in something a person wrote (the config file, a `ctl create` file): all at once, each with its path.
import { KubeportError } from "./errors.ts";

export interface Problem {
  /** Key path as written, e.g. `spec.deny.kubernetes_labels.team[1]`; "" for the whole thing. */
  path: string;
  message: string;
  /** 1-based line in the source, when the problem can be placed. */
  line?: number;
  /** What the path is inside of, when a source holds several things (`role "prod-dev"`). */
  subject?: string;
}

/**
 * Everything wrong with one source (a file), listed at once; kind bad_parameter, so the CLI exits 2.
 * `noun` says what was invalid ("config", "resources"); the message is `SOURCE: N problems` and a
 * line per problem.
 */
export class ProblemsError extends KubeportError {
  readonly problems: Problem[];
  readonly source: string;
  readonly noun: string;
  constructor(noun: string, source: string, problems: Problem[]) {
    super("bad_parameter", formatProblems(source, problems));
    this.name = "ProblemsError";
    this.noun = noun;
    this.source = source;
    this.problems = problems;
  }
}

/** One line per problem: `subject: path: message (line N)`, under a header naming the source. */
export function formatProblems(source: string, problems: readonly Problem[]): string {
  const head = `${source}: ${problems.length === 1 ? "1 problem" : `${problems.length} problems`}`;
  return [head, ...problems.map((p) => `  ${formatProblem(p)}`)].join("\n");
}

/** `subject: path: message (line N)`, each part only when known. */
export function formatProblem(p: Problem): string {
  return `${p.subject ? `${p.subject}: ` : ""}${p.path ? `${p.path}: ` : ""}${p.message}${p.line ? ` (line ${p.line})` : ""}`;
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
  if (Object.hasOwn(hints, word)) return hints[word];
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

/** Drops repeats of the same (subject, path, message). */
export function dedupeProblems<P extends Problem>(problems: readonly P[]): P[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.subject ?? ""}\0${p.path}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
