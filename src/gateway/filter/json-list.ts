// A JSON list (`PodList`, a custom resource's list) or a meta.k8s.io Table, filtered item by item as
// its bytes arrive: one pass over the bytes, no JSON.parse of the list, only each item's metadata
// name/namespace read; kept items go out as the bytes upstream sent. The list's end (`]` and what
// follows) goes out only once the whole body was read and checked, so a body cut short is never a
// whole list: what was sent is not valid JSON, and the stream is aborted (filter-response.ts).
import { ItemWalker, MAX_DEPTH, notWhole } from "./json-item.ts";
import { stringAt, utf8 } from "./json-scan.ts";
import { FilterRefusal, type ItemCheck, type ListFilter } from "./types.ts";

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJ = 123;
const CLOSE_OBJ = 125;
const OPEN_ARR = 91;
const CLOSE_ARR = 93;
const COMMA = 44;
const COLON = 58;
const COMMA_BYTES = utf8(",");
/** Longest key decoded (`"\u0069\u0074\u0065\u006d\u0073"` is 30 bytes): longer ones are no key kubeport reads. */
const MAX_KEY_BYTES = 64;
const MAX_KIND_BYTES = 256;

const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;

/** Before the item array (held, sent with the first kept item), in it, after it (held to the end). */
type Phase = "head" | "items" | "tail";

/** Where the parser is in the list object (outside the item array). */
enum Top {
  Open,
  KeyOrEnd,
  Key,
  Colon,
  ValueStart,
  Value,
  After,
}

/**
 * A streaming filter for one JSON list or Table body (ListFilter: push each chunk, then end).
 * Throws FilterRefusal for anything that is not a list, a Table or a Status (never passed through
 * unfiltered), for Table rows without their object's metadata, for two item arrays (a decoder keeps
 * the last), for an item or a held part over `maxHeld` bytes, and at the end for a body that is not
 * one whole JSON object.
 */
export function jsonListFilter(allows: ItemCheck, maxHeld: number): ListFilter {
  return new JsonListFilter(allows, maxHeld);
}

class JsonListFilter implements ListFilter {
  readonly holdsViews = false;
  private phase: Phase = "head";
  private top = Top.Open;
  /** Head (before the array: sent with the first item) or tail (from `]`: sent at the end). */
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  // The key being read, and the value being skipped (resumable across chunks).
  private key: number[] = [];
  private inString = false;
  private escape = false;
  private depth = 0;
  private stack = new Uint8Array(MAX_DEPTH);
  private scalar = false;
  private valueIsKind = false;
  private kindBytes: number[] = [];
  private kind: string | undefined;
  private keysSeen = new Set<string>();
  private listKey: "items" | "rows" | undefined;
  // The item being read.
  private walker = new ItemWalker(false);
  private inItem = false;
  private itemStart = 0;
  private itemParts: Uint8Array[] = [];
  private itemBytes = 0;
  // What was sent.
  private prefix: Uint8Array[] = [];
  private sent = false;
  private kept = 0;

  constructor(
    private readonly allows: ItemCheck,
    private readonly maxHeld: number,
  ) {}

  push(b: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let i = 0;
    while (i < b.length) {
      if (this.phase === "items") {
        i = this.items(b, i, out);
        // The `]` that ends the items is held with the rest, sent once the whole body is checked.
        if ((this.phase as Phase) === "tail") this.hold(b.subarray(i, ++i));
        continue;
      }
      const from = i;
      i = this.object(b, i);
      this.hold(b.subarray(from, i));
      if ((this.phase as Phase) === "items") {
        this.prefix = this.held;
        this.held = [];
        this.heldBytes = 0;
      }
    }
    return out;
  }

  end(): Uint8Array[] {
    if (this.top !== Top.After) throw notWhole();
    const kind = this.kind;
    if (this.phase === "head") {
      // No item array: a Status passes; a list without items (`"items": null`) is empty already.
      if (kind === "Status" || (kind !== undefined && (kind === "Table" || isList(kind)))) return this.held;
      throw notAList(kind);
    }
    if (kind === undefined) throw notAList(kind);
    this.checkKind();
    return this.sent ? this.held : [...this.prefix, ...this.held];
  }

  private hold(part: Uint8Array) {
    if (part.length === 0) return;
    this.heldBytes += part.length;
    if (this.heldBytes > this.maxHeld)
      throw new FilterRefusal(
        `upstream's answer has ${this.heldBytes} bytes or more outside its items; kubeport holds at most ${this.maxHeld}`,
        502,
      );
    // A copy: upstream's chunk is given back once pushed (holdsViews).
    this.held.push(part.slice());
  }

  /** The list object's own members, up to the item array (then phase "items") or the chunk's end. */
  private object(b: Uint8Array, i: number): number {
    const end = b.length;
    while (i < end) {
      const c = b[i]!;
      switch (this.top) {
        case Top.Open:
          if (isSpace(c)) i++;
          else if (c === OPEN_OBJ) {
            this.top = Top.KeyOrEnd;
            i++;
          } else throw notWhole();
          break;
        case Top.KeyOrEnd:
          if (isSpace(c) || c === COMMA) i++;
          else if (c === CLOSE_OBJ) {
            this.top = Top.After;
            i++;
          } else if (c === QUOTE) {
            this.key.length = 0;
            this.escape = false;
            this.top = Top.Key;
            i++;
          } else throw notWhole();
          break;
        case Top.Key: {
          let j = i;
          for (; j < end; j++) {
            const d = b[j]!;
            if (this.escape) this.escape = false;
            else if (d === BACKSLASH) this.escape = true;
            else if (d === QUOTE) break;
            if (this.key.length <= MAX_KEY_BYTES) this.key.push(d);
          }
          if (j === end) return end;
          this.top = Top.Colon;
          i = j + 1;
          break;
        }
        case Top.Colon:
          if (isSpace(c)) i++;
          else if (c === COLON) {
            this.top = Top.ValueStart;
            i++;
          } else throw notWhole();
          break;
        case Top.ValueStart: {
          if (isSpace(c)) {
            i++;
            break;
          }
          const key = this.keyName();
          if (key === "items" || key === "rows" || key === "kind") {
            // Go's decoders take the last of two equal keys (case-insensitively, for typed objects):
            // a second one could carry what the first hid.
            if (this.keysSeen.has(key) || (key !== "kind" && this.keysSeen.has(other(key))))
              throw new FilterRefusal(`upstream's list has two "${key}" members`, 502);
            this.keysSeen.add(key);
          }
          if ((key === "items" || key === "rows") && c === OPEN_ARR && this.phase === "head") {
            this.listKey = key;
            this.walker = new ItemWalker(key === "rows");
            if (this.kind !== undefined) this.checkKind();
            this.phase = "items";
            this.top = Top.KeyOrEnd;
            return i + 1;
          }
          this.valueIsKind = key === "kind" && c === QUOTE;
          this.kindBytes.length = 0;
          this.depth = 0;
          this.inString = false;
          this.escape = false;
          this.scalar = false;
          this.top = Top.Value;
          break;
        }
        case Top.Value: {
          const j = this.skipValue(b, i, end);
          if (this.valueIsKind && this.kindBytes.length <= MAX_KIND_BYTES)
            for (let k = i; k < (j < 0 ? end : j); k++) this.kindBytes.push(b[k]!);
          if (j < 0) return end;
          if (this.valueIsKind) {
            this.kind = this.kindBytes.length > MAX_KIND_BYTES ? "" : decodeString(this.kindBytes);
            if (this.phase === "tail") this.checkKind();
          }
          this.top = Top.KeyOrEnd;
          i = j;
          break;
        }
        case Top.After:
          if (isSpace(c)) i++;
          else throw notWhole();
          break;
      }
    }
    return end;
  }

  /** The key just read, decoded and lower-cased ("" when too long to be one kubeport reads). */
  private keyName(): string {
    if (this.key.length > MAX_KEY_BYTES) return "";
    return decodeString([QUOTE, ...this.key, QUOTE]).toLowerCase();
  }

  /** A list, a Table with rows, never anything else; once the kind is known (before the items, or after them). */
  private checkKind() {
    const kind = this.kind;
    if (kind === undefined) return;
    if (kind === "Table" ? this.listKey !== "rows" : !isList(kind) || this.listKey !== "items") {
      if (kind === "Table" || isList(kind)) throw new FilterRefusal(`a ${kind} with "${this.listKey}"`, 406);
      throw notAList(kind);
    }
  }

  /**
   * Skips the value at b[i] (resumable: the state is kept between chunks). The index just past it,
   * or -1 when the chunk ended inside it.
   */
  private skipValue(b: Uint8Array, i: number, end: number): number {
    let j = i;
    if (this.depth === 0 && !this.inString && !this.scalar) {
      const c = b[j]!;
      if (c === QUOTE) {
        this.inString = true;
        j++;
      } else if (c !== OPEN_OBJ && c !== OPEN_ARR) this.scalar = true;
    }
    if (this.scalar) {
      for (; j < end; j++) {
        const c = b[j]!;
        if (c === COMMA || c === CLOSE_OBJ || c === CLOSE_ARR || isSpace(c)) {
          this.scalar = false;
          return j;
        }
      }
      return -1;
    }
    if (this.depth === 0 && this.inString) {
      // A string value at the top.
      for (; j < end; j++) {
        const d = b[j]!;
        if (this.escape) this.escape = false;
        else if (d === BACKSLASH) this.escape = true;
        else if (d === QUOTE) {
          this.inString = false;
          return j + 1;
        }
      }
      return -1;
    }
    return this.nested(b, j, end);
  }

  /** Scans an object or array (state in depth/inString/escape/stack); index past it, or -1. */
  private nested(b: Uint8Array, j: number, end: number): number {
    let depth = this.depth;
    const stack = this.stack;
    if (this.inString) {
      if (this.escape) {
        this.escape = false;
        j++;
      }
      for (;;) {
        if (j >= end) return -1;
        const d = b[j++];
        if (d === QUOTE) break;
        if (d === BACKSLASH) {
          if (j >= end) {
            this.escape = true;
            return -1;
          }
          j++;
        }
      }
      this.inString = false;
    }
    // One tight loop: most bytes of a Kubernetes object are inside strings.
    while (j < end) {
      const c = b[j++];
      if (c === QUOTE) {
        for (;;) {
          if (j >= end) {
            this.inString = true;
            this.depth = depth;
            return -1;
          }
          const d = b[j++];
          if (d === QUOTE) break;
          if (d === BACKSLASH) {
            if (j >= end) {
              this.inString = this.escape = true;
              this.depth = depth;
              return -1;
            }
            j++;
          }
        }
      } else if (c === OPEN_OBJ || c === OPEN_ARR) {
        if (depth === MAX_DEPTH) throw new FilterRefusal(`upstream's list nests deeper than ${MAX_DEPTH}`);
        stack[depth++] = c;
      } else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
        // A bracket that closes another kind of bracket: not JSON, so item bounds cannot be trusted.
        if (depth === 0 || stack[--depth] !== c - 2) throw notWhole();
        if (depth === 0) {
          this.depth = 0;
          return j;
        }
      }
    }
    this.depth = depth;
    return -1;
  }

  /** The item array from b[i]: items decided as they complete; returns where the array ended, or the chunk's end. */
  private items(b: Uint8Array, i: number, out: Uint8Array[]): number {
    const end = b.length;
    // A run of kept items in this chunk, sent as one subarray (upstream's own commas between them).
    let runStart = -1;
    let runEnd = -1;
    const flush = () => {
      if (runStart >= 0 && runEnd > runStart) this.emit(out, b.subarray(runStart, runEnd));
      runStart = runEnd = -1;
    };
    while (i < end) {
      let from = i;
      let j = -1;
      let whole = true;
      if (!this.inItem) {
        const c = b[i]!;
        if (isSpace(c) || c === COMMA) {
          i++;
          continue;
        }
        if (c === CLOSE_ARR) {
          flush();
          this.phase = "tail";
          return i;
        }
        if (c !== OPEN_OBJ) throw new FilterRefusal("a list item is not an object", 406);
        // Most items lie within one chunk: walked once (its end and its metadata), read where it lies.
        j = this.walker.walk(b, i, end);
        if (j < 0) {
          // It goes on in the next chunk: its end is found by the resumable scan, then it is walked whole.
          this.inItem = true;
          this.itemStart = i;
          this.itemParts.length = 0;
          this.itemBytes = 0;
          this.depth = 0;
          this.inString = false;
          this.escape = false;
        } else if (j - i > this.maxHeld) throw this.tooBig(j - i);
      }
      if (this.inItem) {
        from = this.itemParts.length > 0 ? 0 : this.itemStart;
        j = this.nested(b, i, end);
        if (j < 0) {
          flush();
          this.itemBytes += end - from;
          if (this.itemBytes > this.maxHeld) throw this.tooBig(this.itemBytes);
          this.itemParts.push(b.slice(from, end));
          return end;
        }
        this.inItem = false;
        if (this.itemBytes + j - from > this.maxHeld) throw this.tooBig(this.itemBytes + j - from);
        whole = this.itemParts.length === 0;
        if (!whole) {
          const item = concat([...this.itemParts, b.subarray(0, j)]);
          this.itemParts.length = 0;
          if (this.walker.walk(item, 0, item.length) !== item.length) throw notWhole();
          i = j;
          if (!this.decide()) {
            flush();
            continue;
          }
          flush();
          if (this.kept > 0) this.emit(out, COMMA_BYTES);
          this.emit(out, item);
          runStart = runEnd = j;
          this.kept++;
          continue;
        }
        if (this.walker.walk(b, from, j) !== j) throw notWhole();
      }
      i = j;
      if (!this.decide()) {
        flush();
        continue;
      }
      if (runStart >= 0) {
        runEnd = j; // contiguous with the run: upstream's comma between them is kept
      } else {
        if (this.kept > 0) this.emit(out, COMMA_BYTES);
        runStart = from;
        runEnd = j;
      }
      this.kept++;
    }
    flush();
    return end;
  }

  private tooBig(bytes: number) {
    return new FilterRefusal(
      `a list item of ${bytes} bytes or more; kubeport filters items of at most ${this.maxHeld} bytes`,
      502,
    );
  }

  /** The item the walker just read: may the user see it? */
  private decide(): boolean {
    const w = this.walker;
    if (w.noObject)
      throw new FilterRefusal(
        "Table rows carry no object metadata (includeObject=None), so kubeport cannot tell which rows you may see; leave includeObject at its default (Metadata)",
        406,
      );
    // An item without one readable name (none, two, not a string) is not shown (fail closed).
    return w.readable && this.allows(w.namespace, w.name);
  }

  private emit(out: Uint8Array[], part: Uint8Array) {
    if (!this.sent) {
      out.push(...this.prefix);
      this.prefix = [];
      this.sent = true;
    }
    out.push(part);
  }
}

const isList = (kind: string) => kind.endsWith("List");

/** A JSON string's bytes (quotes included) as text; throws FilterRefusal when it is not one. */
function decodeString(bytes: readonly number[]): string {
  try {
    const b = Uint8Array.from(bytes);
    return stringAt(b, 0, b.length);
  } catch {
    throw notWhole();
  }
}
const other = (key: string) => (key === "items" ? "rows" : "items");

const notAList = (kind: string | undefined) =>
  new FilterRefusal(
    `kubeport filters this request's answer item by item, and upstream answered with ${kind ? `a ${kind}` : "something that is not a Kubernetes list"}, which it cannot filter`,
    406,
  );

/** One buffer from several. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A whole list body filtered at once (a Table watch event's one-row Table): the pieces of the
 * filtered body, in order, the first starting at the list's `{`. Throws as jsonListFilter does.
 */
export function filterJsonList(body: Uint8Array, allows: ItemCheck, maxHeld = body.length + 1): Uint8Array[] {
  const f = jsonListFilter(allows, maxHeld);
  return [...f.push(body), ...f.end()];
}
