// Byte-level helpers over JSON text (UTF-8): skip a value, find one member of an object without
// parsing the rest (the first of its name: what decides access reads items with json-item.ts, which
// sees repeats), read a short string.

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJ = 123;
const CLOSE_OBJ = 125;
const OPEN_ARR = 91;
const CLOSE_ARR = 93;
const COLON = 58;

/** Index just past the string whose opening quote is at `i`. */
export function skipString(b: Uint8Array, i: number, end: number): number {
  // One tight loop: most bytes of a Kubernetes object are inside strings, and a native indexOf per
  // string costs more than it saves on strings this short.
  for (let j = i + 1; j < end; j++) {
    const c = b[j];
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  return end;
}

/** Index just past the value starting at `i` (object, array, string, or a scalar). */
export function skipValue(b: Uint8Array, i: number, end: number): number {
  const first = b[i];
  if (first === QUOTE) return skipString(b, i, end);
  if (first !== OPEN_OBJ && first !== OPEN_ARR) {
    let j = i;
    while (j < end) {
      const x = b[j]!;
      if (x === 44 || x === CLOSE_OBJ || x === CLOSE_ARR || x <= 32) break;
      j++;
    }
    return j;
  }
  let depth = 0;
  let inString = false;
  for (let j = i; j < end; j++) {
    const c = b[j];
    if (inString) {
      if (c === BACKSLASH) j++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_OBJ || c === OPEN_ARR) depth++;
    else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
      if (--depth === 0) return j + 1;
    }
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
  const at = memberStart(b, start, end, key);
  return at === undefined ? undefined : [at, skipValue(b, at, end)];
}

/**
 * Where the value of member `key` of the object at `b[start]` starts (undefined when it has none):
 * neither that value nor anything after it is read. `end` may lie past the object's own end: the
 * walk stops at its closing brace.
 */
function memberStart(b: Uint8Array, start: number, end: number, key: Uint8Array): number | undefined {
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
    if (matches) return i;
    i = skipValue(b, i, end);
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

/** Bun's (and Node's) Buffer#latin1Slice, which reads any Uint8Array: one flat string, no copy first. */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(start: number, end: number): string })
  .latin1Slice;

/**
 * The JSON string at b[start..end) (quotes included). Names and namespaces are short ASCII without
 * escapes: read as Latin-1 in one native call, no decoder or parser (a TextDecoder + JSON.parse per
 * item was most of a 5,000-item list's filtering time; a string built char by char is a rope the
 * matcher must flatten); anything else goes through JSON.parse.
 */
export function stringAt(b: Uint8Array, start: number, end: number): string {
  if (end - start <= 256) {
    let ascii = true;
    for (let i = start + 1; i < end - 1; i++) {
      const c = b[i]!;
      if (c >= 128 || c === BACKSLASH) {
        ascii = false;
        break;
      }
    }
    if (ascii) return latin1Slice.call(b, start + 1, end - 1);
  }
  return parseRange(b, start, end) as string;
}
