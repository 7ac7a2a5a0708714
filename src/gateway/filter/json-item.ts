// One list item (or Table row) walked once: where it ends, and the namespace/name the user's client
// would read from it. The members on the way to metadata are read as keys; every other value is
// skipped by a tight byte loop. Nothing is allocated per item but the name string (the namespace is
// reused while it repeats).
//
// Read as a Go decoder reads: of two equal keys it keeps the LAST (encoding/json; for struct fields it
// also matches keys case-insensitively, with Unicode folding). A filter that read the first would
// check another name than kubectl shows, so an item with two `metadata`, `name` or `namespace` keys
// (or, in a row, two `object` keys), or one spelled in another case, is not shown at all (fail
// closed). A key with escapes is decoded first (`"n\u0061me"` is `name`).
import { stringAt } from "./json-scan.ts";
import { FilterRefusal } from "./types.ts";

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJ = 123;
const CLOSE_OBJ = 125;
const OPEN_ARR = 91;
const CLOSE_ARR = 93;
const COMMA = 44;
const COLON = 58;
const BACKSLASH_OR_20 = BACKSLASH | 0x20;
/** Deepest nesting read (the API server's own JSON decoder stops at 10,000 too). */
export const MAX_DEPTH = 10_000;

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const METADATA = ascii("metadata");
const OBJECT = ascii("object");
const NAME = ascii("name");
const NAMESPACE = ascii("namespace");

export const notWhole = () =>
  new FilterRefusal(
    "upstream's list is not one whole JSON object (cut short?), so kubeport does not answer it as a list",
  );

/** What a key is on the way to an item's namespace/name. */
const OTHER = 0;
const DESCEND = 1;
const NAME_KEY = 2;
const NAMESPACE_KEY = 3;

const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;

/** Index just past the JSON string whose opening quote is at `i`, or -1 when `end` comes first. */
function stringEnd(b: Uint8Array, i: number, end: number): number {
  for (let j = i + 1; j < end; j++) {
    const c = b[j];
    if (c === QUOTE) return j + 1;
    if (c === BACKSLASH) j++;
  }
  return -1;
}

/** Index of the first non-space at or after `i` (`end` when none). */
function skipSpace(b: Uint8Array, i: number, end: number): number {
  while (i < end && isSpace(b[i]!)) i++;
  return i;
}

export class ItemWalker {
  /** After walk() returned an end: may the item be judged (one readable namespace/name)? */
  readable = false;
  /** After walk(): a Table row without an `object` member (includeObject=None). */
  noObject = false;
  namespace = "";
  name = "";
  // Per walk: how often each key on the path was seen, and the value ranges of name and namespace.
  private readonly seen: Int32Array;
  private nameAt = -1;
  private nameEnd = -1;
  private nsAt = -1;
  private nsEnd = -1;
  private names = 0;
  private namespaces = 0;
  private bad = false;
  // The last namespace read (most items of a list share one).
  private lastNs = "";
  private lastNsBytes = new Uint8Array(0);
  /** Bracket kinds of the value being skipped, one per depth. */
  private readonly stack = new Uint8Array(MAX_DEPTH);

  /** `rows`: a Table's rows (the metadata is the row's object's); else a list's items. */
  constructor(private readonly rows: boolean) {
    this.seen = new Int32Array(rows ? 2 : 1);
  }

  /**
   * Walks the object at b[start] (`{`): the index just past it, or -1 when `end` came first (nothing
   * is known then). Throws FilterRefusal when it is not JSON.
   */
  walk(b: Uint8Array, start: number, end: number): number {
    this.seen.fill(0);
    this.nameAt = this.nsAt = -1;
    this.names = this.namespaces = 0;
    this.bad = false;
    const j = this.object(b, start, end, 0);
    if (j < 0) return -1;
    const depth = this.seen.length;
    this.noObject = this.rows && this.seen[0] === 0;
    let readable = !this.bad && this.names <= 1 && this.namespaces <= 1;
    for (let l = 0; l < depth; l++) if (this.seen[l] !== 1) readable = false;
    this.readable = readable;
    if (readable) {
      try {
        this.name = this.nameAt < 0 ? "" : stringAt(b, this.nameAt, this.nameEnd);
        this.namespace = this.nsAt < 0 ? "" : this.namespaceAt(b, this.nsAt, this.nsEnd);
      } catch {
        throw notWhole(); // a string that is not JSON
      }
    }
    return j;
  }

  /** The object at b[i] at `level` of the path (0: the item). */
  private object(b: Uint8Array, i: number, end: number, level: number): number {
    const depth = this.seen.length;
    i = skipSpace(b, i + 1, end);
    if (i >= end) return -1;
    if (b[i] === CLOSE_OBJ) return i + 1;
    for (;;) {
      if (b[i] !== QUOTE) throw notWhole();
      const keyEnd = stringEnd(b, i, end);
      if (keyEnd < 0) return -1;
      const role = this.role(b, i + 1, keyEnd - 1, level);
      i = skipSpace(b, keyEnd, end);
      if (i >= end) return -1;
      if (b[i] !== COLON) throw notWhole();
      i = skipSpace(b, i + 1, end);
      if (i >= end) return -1;
      const c = b[i]!;
      if (role === DESCEND) {
        this.seen[level]!++;
        // Not an object (null): no metadata to read, so the item is not shown.
        if (c === OPEN_OBJ) i = this.object(b, i, end, level + 1);
        else {
          this.bad = true;
          i = this.skip(b, i, end);
        }
      } else if (role === OTHER || level < depth) i = this.skip(b, i, end);
      else {
        if (c !== QUOTE) this.bad = true;
        const at = i;
        i = this.skip(b, i, end);
        if (role === NAME_KEY) {
          this.names++;
          this.nameAt = at;
          this.nameEnd = i;
        } else if (role === NAMESPACE_KEY) {
          this.namespaces++;
          this.nsAt = at;
          this.nsEnd = i;
        }
      }
      if (i < 0) return -1;
      i = skipSpace(b, i, end);
      if (i >= end) return -1;
      if (b[i] === CLOSE_OBJ) return i + 1;
      if (b[i] !== COMMA) throw notWhole();
      i = skipSpace(b, i + 1, end);
      if (i >= end) return -1;
    }
  }

  /** What the key b[from..to) (between its quotes) is at `level` of the path. */
  private role(b: Uint8Array, from: number, to: number, level: number): number {
    // Most keys are told apart by their first byte: ours start with a letter (either case) or, escaped,
    // with a backslash. (A non-ASCII first byte cannot fold to m, n or o.)
    const c = b[from]! | 0x20;
    if (level < this.seen.length) {
      const want = this.rows && level === 0 ? OBJECT : METADATA;
      if (c !== want[0] && c !== BACKSLASH_OR_20) return OTHER;
      return this.match(b, from, to, want) ? DESCEND : OTHER;
    }
    if (c !== NAME[0] && c !== BACKSLASH_OR_20) return OTHER;
    if (this.match(b, from, to, NAME)) return NAME_KEY;
    if (this.match(b, from, to, NAMESPACE)) return NAMESPACE_KEY;
    return OTHER;
  }

  /**
   * Whether the key b[from..to) is `want`: true when spelled exactly so (or so once its escapes are
   * decoded); for a key a case-insensitive decoder would also take for `want` (`Name`, `nameſpace`)
   * it marks the item unreadable and returns false.
   */
  private match(b: Uint8Array, from: number, to: number, want: Uint8Array): boolean {
    if (needsDecoding(b, from, to)) {
      const key = decodeKey(b, from, to);
      const wanted = String.fromCharCode(...want);
      if (key === wanted) return true;
      if (fold(key) === wanted) this.bad = true;
      return false;
    }
    if (to - from !== want.length) return false;
    let exact = true;
    for (let k = 0; k < want.length; k++) {
      const c = b[from + k]!;
      if (c === want[k]) continue;
      // want is lower-case letters: c | 0x20 equals one only for its upper-case twin.
      if ((c | 0x20) !== want[k]) return false;
      exact = false;
    }
    if (!exact) this.bad = true;
    return exact;
  }

  /** The namespace string, the last one's when the bytes repeat (no new string). */
  private namespaceAt(b: Uint8Array, at: number, end: number): string {
    const last = this.lastNsBytes;
    if (end - at === last.length) {
      let same = true;
      for (let k = 0; k < last.length; k++)
        if (b[at + k] !== last[k]) {
          same = false;
          break;
        }
      if (same) return this.lastNs;
    }
    this.lastNs = stringAt(b, at, end);
    this.lastNsBytes = b.slice(at, end);
    return this.lastNs;
  }

  /** Index just past the value at b[i], or -1 when `end` came first. */
  private skip(b: Uint8Array, i: number, end: number): number {
    const c = b[i]!;
    if (c === QUOTE) return stringEnd(b, i, end);
    if (c === OPEN_OBJ || c === OPEN_ARR) return this.nested(b, i, end);
    for (let j = i; j < end; j++) {
      const x = b[j]!;
      if (x === COMMA || x === CLOSE_OBJ || x === CLOSE_ARR || isSpace(x)) {
        if (j === i) throw notWhole();
        return j;
      }
    }
    return -1;
  }

  /** Index just past the object or array at b[i], or -1 when `end` came first. */
  private nested(b: Uint8Array, i: number, end: number): number {
    const stack = this.stack;
    let depth = 0;
    let j = i;
    // One tight loop: most bytes of a Kubernetes object are inside strings.
    while (j < end) {
      const c = b[j++];
      if (c === QUOTE) {
        for (;;) {
          if (j >= end) return -1;
          const d = b[j++];
          if (d === QUOTE) break;
          if (d === BACKSLASH) j++;
        }
      } else if (c === OPEN_OBJ || c === OPEN_ARR) {
        if (depth === MAX_DEPTH) throw new FilterRefusal(`upstream's list nests deeper than ${MAX_DEPTH}`);
        stack[depth++] = c;
      } else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
        // A bracket that closes another kind of bracket: not JSON, so item bounds cannot be trusted.
        if (depth === 0 || stack[--depth] !== c - 2) throw notWhole();
        if (depth === 0) return j;
      }
    }
    return -1;
  }
}

/** A key with an escape or a non-ASCII byte: compared once decoded. */
function needsDecoding(b: Uint8Array, from: number, to: number): boolean {
  for (let k = from; k < to; k++) {
    const c = b[k]!;
    if (c === BACKSLASH || c >= 0x80) return true;
  }
  return false;
}

function decodeKey(b: Uint8Array, from: number, to: number): string {
  try {
    return stringAt(b, from - 1, to + 1);
  } catch {
    throw notWhole();
  }
}

/** Go's case-insensitive key match (simple Unicode folding: `K` Kelvin is k, `ſ` long s is s), lower-cased. */
export const fold = (key: string) =>
  key
    .replace(/\u212a/g, "k")
    .replace(/\u017f/g, "s")
    .toLowerCase();
