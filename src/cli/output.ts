// Command output: tctl-style aligned tables, and kubectl's -o json|yaml|wide|name (--format its alias).
import { stringify } from "yaml";
import { UsageError } from "./args.ts";

export type Format = "text" | "yaml" | "json";
export const FORMATS: readonly Format[] = ["text", "yaml", "json"];

/** Validates a --format value (default text). */
export function parseFormat(value: string | undefined): Format {
  const f = (value ?? "text").toLowerCase();
  if (!(FORMATS as readonly string[]).includes(f))
    throw new UsageError(`--format: "${value}" is not one of: ${FORMATS.join(", ")}`);
  return f as Format;
}

/**
 * An aligned table: a header row, a dashed rule under it, then the rows; columns separated by
 * one space and padded to the widest cell, as tctl prints them. The last column is not padded.
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join(" ")
      .trimEnd();
  return `${[line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")}\n`;
}

/** Structured output: JSON (2-space) or YAML (one document per item when `documents`). */
export function renderData(
  format: "yaml" | "json",
  data: unknown,
  opts: { documents?: boolean } = {},
): string {
  if (format === "json") return `${JSON.stringify(data, null, 2)}\n`;
  if (opts.documents && Array.isArray(data)) return data.map((d) => stringify(d)).join("---\n");
  return stringify(data);
}

/** "3d", "5h", "12m", "40s" since `iso` (or "-" when unknown). */
export function age(iso: string | undefined, now = Date.now()): string {
  const t = iso ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(t)) return "-";
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Labels discovery adds for its own bookkeeping; hidden from text tables unless --verbose. */
const INTERNAL_LABEL = /^kubeport\.dev\//;

/** formatLabels without the kubeport.dev/* bookkeeping labels (all of them when `verbose`). */
export const formatUserLabels = (labels: Record<string, string> | undefined, verbose: boolean): string =>
  formatLabels(
    Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => verbose || !INTERNAL_LABEL.test(k))),
  );

/** Quotes a word for sh only when it needs it. */
export const shellQuote = (word: string): string =>
  /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;

/** "k=v,k2=v2", sorted by key. */
export const formatLabels = (labels: Record<string, string> | undefined): string =>
  Object.entries(labels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

/** What a listing prints: a table (wide: more columns), names only, or JSON/YAML (kubectl's -o). */
export type Output = "table" | "wide" | "name" | "json" | "yaml";
const OUTPUTS: Record<string, Output> = {
  text: "table",
  table: "table",
  wide: "wide",
  name: "name",
  json: "json",
  yaml: "yaml",
};

/** -o/--output and its older spelling --format, on every listing command. */
export const OUTPUT_OPTIONS = {
  output: {
    type: "string",
    short: "o",
    valueName: "FORMAT",
    description: "json, yaml, wide or name, as kubectl's -o (default: a table)",
    choices: ["json", "yaml", "wide", "name"],
  },
  format: {
    type: "string",
    valueName: "FORMAT",
    description: "the same as -o (text = the table)",
    choices: ["text", "json", "yaml", "wide", "name"],
  },
} as const;

/** Reads -o / --output / --format; a word outside the list is a usage error naming them. */
export function parseOutput(values: Record<string, unknown>): Output {
  const pick = (v: unknown) => (Array.isArray(v) ? v.at(-1) : v) as string | undefined;
  const flag = pick(values.output) !== undefined ? "-o" : "--format";
  const raw = pick(values.output) ?? pick(values.format);
  if (raw === undefined) return "table";
  const word = raw.toLowerCase();
  const o = Object.hasOwn(OUTPUTS, word) ? OUTPUTS[word] : undefined;
  if (!o)
    throw new UsageError(
      `${flag}: "${raw}" is not one of: json, yaml, wide, name${/[/.]/.test(raw) ? ` (-o means the output format, as in kubectl; a file is --out ${raw})` : ""}`,
    );
  return o;
}

/** Structured output for -o json|yaml (a list as one JSON array, YAML documents per item when asked). */
export const renderOutput = (o: "json" | "yaml", data: unknown, documents = false): string =>
  renderData(o, data, { documents });

/** One listing in kubectl's -o renderings: JSON/YAML of `data`, its names one a line, the table or the wide one. */
export function renderListing(
  o: Output,
  l: {
    data: unknown;
    names: () => string[];
    table: () => string;
    /** More columns (default: the table). */
    wide?: () => string;
    /** YAML: one document per item. */
    documents?: boolean;
  },
): string {
  if (o === "json" || o === "yaml") return renderOutput(o, l.data, l.documents);
  if (o === "name")
    return l
      .names()
      .map((n) => `${n}\n`)
      .join("");
  return o === "wide" && l.wide ? l.wide() : l.table();
}

/**
 * -o on a command that writes one document (kubeconfig, configure): a format it offers, else a usage
 * error; a file name gets the hint that files now go to --out (-o meant a file before it meant a format).
 */
export function documentFormat(
  values: Record<string, unknown>,
  offered: readonly ("yaml" | "json")[],
): "yaml" | "json" {
  const raw = (Array.isArray(values.output) ? values.output.at(-1) : values.output) as string | undefined;
  if (raw === undefined) return offered[0]!;
  const word = raw.toLowerCase();
  if ((offered as readonly string[]).includes(word)) return word as "yaml" | "json";
  // Another format word is a format this command lacks; anything else was meant as a file.
  throw new UsageError(
    Object.hasOwn(OUTPUTS, word)
      ? `-o: "${raw}" is not one of: ${offered.join(", ")}`
      : `-o: "${raw}" is not an output format (${offered.join(", ")}): -o means the output format, as in kubectl; write a file with --out ${raw}`,
  );
}
