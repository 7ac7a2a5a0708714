// A `ctl create -f` file → resources: size limits, then every problem of every document at once.
import { Composer, type Document, isSeq, LineCounter, type Node, Parser } from "yaml";
import { type Problem, ProblemsError } from "../lib/problems.ts";
import type { Segments } from "../lib/schema-problems.ts";
import { yamlLineOf } from "../lib/yaml-lines.ts";
import {
  internalKind,
  isKind,
  type Resource,
  resourceProblems,
  resourceSubject,
  resourceWarnings,
} from "../registry/index.ts";

/**
 * Limits on what one `ctl create` reads. A normal file (a few roles, users, clusters) is a few KiB;
 * these stop a file that would fill the registry or make every gateway slow (issue 10: 200,000
 * roles, 1.9 GB, were accepted).
 */
export const CREATE_LIMITS = {
  /** Bytes of the file (or of standard input). */
  fileBytes: 4 * 1024 * 1024,
  /** Resources in one file. */
  resources: 1000,
  /** Bytes of one resource as JSON (the registry's own limit is 1 MiB, for every writer). */
  resourceBytes: 256 * 1024,
} as const;

export interface ParsedResources {
  resources: Resource[];
  /** Valid but probably not meant, e.g. `^staging|prod$`. */
  warnings: Problem[];
}

const mib = (n: number) => `${n / 1024 / 1024} MiB`;
const kib = (n: number) => `${n / 1024} KiB`;

/**
 * The file-size check, for callers that know the size before reading (stat) or stopped reading
 * past the limit (`partial`: standard input is not read to its end).
 */
export function checkFileSize(source: string, bytes: number, partial = false): void {
  if (bytes > CREATE_LIMITS.fileBytes)
    throw new ProblemsError("resource file", source, [
      {
        path: "",
        message: `is ${partial ? `over ${CREATE_LIMITS.fileBytes}` : bytes} bytes; ctl create reads files of at most ${mib(CREATE_LIMITS.fileBytes)} (split it into several files)`,
      },
    ]);
}

/**
 * Parses every document (YAML is a superset of JSON; a JSON array counts as several) and checks
 * each resource as the registry will: unknown keys with a did-you-mean, wrong types, label patterns
 * with their position, limits. Throws one ProblemsError listing every problem of every document
 * (subject `document N, role "x"`, path, line); nothing is returned, so nothing is stored.
 */
export function parseResources(text: string, source: string): ParsedResources {
  checkFileSize(source, Buffer.byteLength(text));
  const lineCounter = new LineCounter();
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const resources: Resource[] = [];
  /** kind/name → where it first appeared. */
  const seen = new Map<string, string>();
  let count = 0;
  // Documents one at a time, so a file of 50,000 tiny documents is refused after the 1,001st
  // resource rather than after parsing all of them.
  const composer = new Composer({ prettyErrors: false });
  const docs = composer.compose(new Parser(lineCounter.addNewLine).parse(text), true);
  let d = -1;
  for (const doc of docs as Iterable<Document.Parsed>) {
    d++;
    if (count > CREATE_LIMITS.resources) break;
    const where = `document ${d + 1}`;
    if (doc.errors.length > 0) {
      for (const e of doc.errors)
        problems.push({
          subject: where,
          path: "",
          message: `invalid YAML: ${e.message.split("\n")[0]}`,
          line: lineCounter.linePos(e.pos[0]).line,
        });
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (err) {
      // e.g. yaml's alias limit (a "billion laughs" file).
      problems.push({ subject: where, path: "", message: (err as Error).message });
      continue;
    }
    if (value === null || value === undefined) continue;
    const items = Array.isArray(value) ? value : [value];
    count += items.length;
    if (count > CREATE_LIMITS.resources) break;
    items.forEach((item, i) => {
      const root =
        Array.isArray(value) && isSeq(doc.contents) ? (doc.contents.items[i] as Node) : doc.contents;
      const lineOf = yamlLineOf(root as Node | null, lineCounter);
      const at = [where, Array.isArray(value) ? `item ${i + 1}` : ""].filter(Boolean).join(", ");
      const subject = [at, resourceSubject(item)].filter(Boolean).join(", ");
      const own = checkOne(item, lineOf);
      for (const p of own) problems.push({ ...p, subject });
      if (own.length > 0) return;
      const r = item as Resource;
      const key = `${r.kind}/${r.metadata.name}`;
      const first = seen.get(key);
      if (first !== undefined)
        problems.push({
          subject,
          path: "metadata.name",
          message: `${key} appears twice in this file (also ${first})`,
          line: lineOf(["metadata", "name"], false),
        });
      else seen.set(key, at || "earlier");
      for (const w of resourceWarnings(r)) warnings.push({ ...w, subject: resourceSubject(r) });
      resources.push(r);
    });
  }
  if (count > CREATE_LIMITS.resources)
    throw new ProblemsError("resource file", source, [
      {
        path: "",
        message: `holds more than ${CREATE_LIMITS.resources} resources; ctl create takes at most ${CREATE_LIMITS.resources} a file (split it into several files)`,
      },
    ]);
  // A file of one document needs no "document 1" in front of each problem.
  if (d === 0)
    for (const p of problems) {
      const subject = p.subject?.replace(/^document 1(, )?/, "");
      if (subject) p.subject = subject;
      else delete p.subject;
    }
  if (problems.length > 0) throw new ProblemsError("resource file", source, problems);
  if (resources.length === 0)
    throw new ProblemsError("resource file", source, [{ path: "", message: "no resources found" }]);
  return { resources, warnings };
}

/** One item's problems: its size, whether people may create its kind, then the registry's check. */
function checkOne(item: unknown, lineOf: (segs: Segments, key: boolean) => number | undefined): Problem[] {
  const bytes = Buffer.byteLength(JSON.stringify(item) ?? "");
  if (bytes > CREATE_LIMITS.resourceBytes)
    return [
      {
        path: "",
        message: `is ${bytes} bytes as JSON; ctl create takes resources of at most ${kib(CREATE_LIMITS.resourceBytes)}`,
        line: lineOf([], false),
      },
    ];
  const kind = (item as { kind?: unknown } | null)?.kind;
  const internal = isKind(kind) ? internalKind(kind) : undefined;
  if (internal)
    return [
      {
        path: "kind",
        message: `${kind} is written by kubeport itself (${internal})`,
        line: lineOf(["kind"], false),
      },
    ];
  // The registry sets revisions; one copied from `ctl get -o yaml` is not a problem.
  return resourceProblems(withoutRevision(item), { lineOf });
}

function withoutRevision(item: unknown): unknown {
  const metadata = (item as { metadata?: unknown } | null)?.metadata;
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) return item;
  const { revision: _, ...rest } = metadata as Record<string, unknown>;
  return Object.assign(item as object, { metadata: rest });
}
