// valibot issues → problems: every unknown key with a did-you-mean, missing keys, wrong types, each with its path.
// One machinery for everything kubeport reads from a person: the config file and every resource kind.
import * as v from "valibot";
import { didYouMean } from "./problems.ts";

export type Segments = readonly (string | number)[];

/** One problem of a value against a schema: where (key path), what, and whether it is about the key. */
export interface SchemaProblem {
  segs: (string | number)[];
  message: string;
  /** True when the key itself is the problem (unknown key), so a line points at the key. */
  atKey: boolean;
  /** True for a key the schema does not know (a reader of a newer version's record may ignore these). */
  unknownKey?: true;
}

export type UnknownKeyMessage = (word: string, known: readonly string[], parent: Segments) => string;

/**
 * Checks `raw` against a valibot schema of kubeport's style (strict maps) and returns every
 * problem: each unknown key of a map (with `unknownKey`'s message, by default a did-you-mean), a
 * missing required key, and the rest as valibot words them — never zero problems on failure.
 * valibot stops at the first unknown key of a map; this reports every one of them.
 */
export function schemaProblems<S extends v.GenericSchema>(
  schema: S,
  raw: unknown,
  unknownKey: UnknownKeyMessage = defaultUnknownKey,
): { result: v.SafeParseResult<S>; problems: SchemaProblem[] } {
  const result = v.safeParse(schema, raw);
  const problems: SchemaProblem[] = [];
  for (const issue of result.issues ?? []) {
    const segs = (issue.path ?? []).map((p) => p.key as string | number);
    if (issue.type === "strict_object" && issue.expected !== "never" && issue.input !== undefined) {
      // A map where something else was written (`log: 7`).
      problems.push({ segs, message: issue.message, atKey: true });
    } else if (issue.type === "strict_object" && issue.expected !== "never") {
      problems.push({ segs, message: "is required", atKey: false });
    } else if (issue.type === "strict_object") {
      const parent = segs.slice(0, -1);
      const known = keysAt(schema, parent);
      for (const word of Object.keys(mapAt(raw, parent)).filter((k) => !known.includes(k)))
        problems.push({
          segs: [...parent, word],
          message: unknownKey(word, known, parent),
          atKey: true,
          unknownKey: true,
        });
    } else {
      problems.push({ segs, message: issue.message, atKey: false });
    }
  }
  // Never "0 problems": an issue no branch above describes is reported as valibot words it.
  if (!result.success && problems.length === 0)
    for (const issue of result.issues)
      problems.push({
        segs: (issue.path ?? []).map((p) => p.key as string | number),
        message: issue.message,
        atKey: false,
      });
  return { result, problems };
}

function defaultUnknownKey(word: string, known: readonly string[]): string {
  const guess = didYouMean(word, known);
  return `unknown key${guess ? `; did you mean ${JSON.stringify(guess)}?` : ""}`;
}

/** The map at a path of the input ({} when it is not a map). */
function mapAt(raw: unknown, segs: Segments): Record<string, unknown> {
  let cur = raw;
  for (const seg of segs)
    cur = cur && typeof cur === "object" ? (cur as Record<string | number, unknown>)[seg] : undefined;
  return cur && typeof cur === "object" && !Array.isArray(cur) ? (cur as Record<string, unknown>) : {};
}

/** Known keys of the object schema at a path (for did-you-mean). */
function keysAt(schema: unknown, segs: Segments): string[] {
  let cur = unwrap(schema);
  for (const seg of segs) {
    if (!cur) return [];
    if (typeof seg === "number" && cur.item) cur = unwrap(cur.item);
    else if (cur.entries) cur = unwrap(cur.entries[seg as string]);
    else return [];
  }
  return cur?.entries ? Object.keys(cur.entries) : [];
}

interface SchemaLike {
  kind?: string;
  wrapped?: unknown;
  item?: unknown;
  entries?: Record<string, unknown>;
  pipe?: readonly SchemaLike[];
}
/**
 * The schema under optional() wrappers and, for a pipe (`tls: yes` or a map, a map with a check),
 * the last schema in it, itself unwrapped.
 */
function unwrap(s: unknown): SchemaLike | undefined {
  let cur = s as SchemaLike | undefined;
  for (;;) {
    if (cur?.wrapped) cur = cur.wrapped as SchemaLike;
    else if (cur?.pipe && !cur.entries) {
      const inner = [...cur.pipe]
        .reverse()
        .find((p) => p.kind === "schema" && (p.entries || p.wrapped || p.pipe || p.item));
      if (!inner) return cur;
      cur = inner;
    } else return cur;
  }
}
