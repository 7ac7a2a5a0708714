// The members of a JSON object read in order, repeats kept. JSON.parse keeps only the last of a
// repeated member; the API server decodes built-in kinds into Go structs, where a repeated member is
// merged into the same struct (`"spec":{"a":1},"spec":{"b":2}` is spec {a:1, b:2}). Two readers that
// disagree on a body must not both decide on it, so the readers of created objects and access reviews
// find repeats here and refuse them (no client writes one).
import { skipString, skipValue } from "../filter/json-scan.ts";

export interface Member {
  /** The key as decoded (escapes resolved: `"n\u0061me"` is name, as Go reads it). */
  key: string;
  /** The value's byte range. */
  start: number;
  end: number;
}

const decoder = new TextDecoder();
const isSpace = (x: number | undefined) => x === 32 || x === 10 || x === 13 || x === 9;

/**
 * The members of the object at b[at] in order, repeats kept; undefined when it is not an object.
 * The body must be valid JSON already (JSON.parse it first): this finds members, it does not check syntax.
 */
export function members(b: Uint8Array, at: number): Member[] | undefined {
  let i = at;
  while (i < b.length && isSpace(b[i])) i++;
  if (b[i] !== 0x7b) return undefined;
  i++;
  const out: Member[] = [];
  for (;;) {
    while (i < b.length && (isSpace(b[i]) || b[i] === 0x2c)) i++;
    if (i >= b.length || b[i] === 0x7d) return out;
    if (b[i] !== 0x22) return undefined;
    const keyEnd = skipString(b, i, b.length);
    const key = JSON.parse(decoder.decode(b.subarray(i, keyEnd))) as string;
    i = keyEnd;
    while (i < b.length && isSpace(b[i])) i++;
    if (b[i] !== 0x3a) return undefined;
    i++;
    while (i < b.length && isSpace(b[i])) i++;
    const end = skipValue(b, i, b.length);
    out.push({ key, start: i, end });
    i = end;
  }
}

/**
 * The dotted path of the first member that appears twice in the object at b[at] or in any object
 * nested in it through members (`spec.resourceAttributes`); undefined when there is none. Arrays are
 * not walked (nothing kubeport decides on sits inside one). Valid JSON only, as for `members`.
 */
export function repeatedMember(b: Uint8Array, at = 0, path = ""): string | undefined {
  const fields = members(b, at);
  if (!fields) return undefined;
  const seen = new Set<string>();
  for (const f of fields) {
    const where = path ? `${path}.${f.key}` : f.key;
    if (seen.has(f.key)) return where;
    seen.add(f.key);
  }
  for (const f of fields) {
    if (b[f.start] !== 0x7b) continue;
    const inner = repeatedMember(b, f.start, path ? `${path}.${f.key}` : f.key);
    if (inner !== undefined) return inner;
  }
  return undefined;
}
