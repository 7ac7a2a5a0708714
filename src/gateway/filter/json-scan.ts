// Byte-level helpers over JSON text (UTF-8): find one member of an object without parsing the rest,
// so a filter reads an item's metadata and copies the item's bytes as they came.

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJ = 123;
const CLOSE_OBJ = 125;
const OPEN_ARR = 91;
const CLOSE_ARR = 93;
const COLON = 58;

/** Index just past the string whose opening quote is at `i`. */
export function skipString(b: Uint8Array, i: number, end: number): number {
  let j = i + 1;
  for (;;) {
    const q = b.indexOf(QUOTE, j);
    if (q < 0 || q >= end) return end;
    // The quote ends the string unless an odd run of backslashes precedes it.
    let k = q - 1;
    while (k > i && b[k] === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** Index just past the value starting at `i` (object, array, string, or a scalar). */
export function skipValue(b: Uint8Array, i: number, end: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i, end);
  if (c !== OPEN_OBJ && c !== OPEN_ARR) {
    let j = i;
    while (j < end) {
      const x = b[j]!;
      if (x === 44 || x === CLOSE_OBJ || x === CLOSE_ARR || x <= 32) break;
      j++;
    }
    return j;
  }
  let depth = 0;
  let j = i;
  while (j < end) {
    const x = b[j]!;
    if (x === QUOTE) {
      j = skipString(b, j, end);
      continue;
    }
    if (x === OPEN_OBJ || x === OPEN_ARR) depth++;
    else if (x === CLOSE_OBJ || x === CLOSE_ARR) {
      depth--;
      if (depth === 0) return j + 1;
    }
    j++;
  }
  return end;
}

const isSpace = (x: number | undefined) => x === 32 || x === 10 || x === 13 || x === 9;

/**
 * The value range [start, end) of member `key` of the object at `b[start]` (`{`), or undefined when
 * the object has no such member. Stops at the member: what follows is not read.
 */
export function findMember(
  b: Uint8Array,
  start: number,
  end: number,
  key: Uint8Array,
): [number, number] | undefined {
  let i = start;
  while (i < end && isSpace(b[i])) i++;
  if (b[i] !== OPEN_OBJ) return undefined;
  i++;
  while (i < end) {
    while (i < end && (isSpace(b[i]) || b[i] === 44)) i++;
    if (b[i] !== QUOTE) return undefined;
    const keyEnd = skipString(b, i, end);
    const matches = keyEnd - i - 2 === key.length && equalAt(b, i + 1, key);
    i = keyEnd;
    while (i < end && isSpace(b[i])) i++;
    if (b[i] !== COLON) return undefined;
    i++;
    while (i < end && isSpace(b[i])) i++;
    const valueEnd = skipValue(b, i, end);
    if (matches) return [i, valueEnd];
    i = valueEnd;
  }
  return undefined;
}

function equalAt(b: Uint8Array, at: number, key: Uint8Array): boolean {
  for (let k = 0; k < key.length; k++) if (b[at + k] !== key[k]) return false;
  return true;
}

const decoder = new TextDecoder();
/** JSON.parse of a byte range. */
export const parseRange = (b: Uint8Array, start: number, end: number): unknown =>
  JSON.parse(decoder.decode(b.subarray(start, end)));

export const utf8 = (s: string) => new TextEncoder().encode(s);

/** Namespace and name from the `metadata` of an object, or undefined when it has none. */
export interface ObjectRef {
  namespace: string;
  name: string;
}

const METADATA = utf8("metadata");
const NAME = utf8("name");
const NAMESPACE = utf8("namespace");

/**
 * The namespace/name of the object whose JSON is at b[start..end): only those two strings of its
 * metadata are parsed. Undefined when it has no metadata map or they are not strings.
 */
export function objectRef(b: Uint8Array, start: number, end: number): ObjectRef | undefined {
  const m = findMember(b, start, end, METADATA);
  if (!m || b[m[0]] !== OPEN_OBJ) return undefined;
  const name = stringMember(b, m[0], m[1], NAME);
  const namespace = stringMember(b, m[0], m[1], NAMESPACE);
  if (name === null || namespace === null) return undefined;
  return { namespace: namespace ?? "", name: name ?? "" };
}

/** A string member's value; undefined when absent, null when present but not a string. */
function stringMember(b: Uint8Array, start: number, end: number, key: Uint8Array): string | undefined | null {
  const r = findMember(b, start, end, key);
  if (!r) return undefined;
  if (b[r[0]] !== QUOTE) return null;
  return parseRange(b, r[0], r[1]) as string;
}
