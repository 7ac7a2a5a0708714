// A JSON watch (one `{"type":…,"object":…}` event per line) filtered event by event: ADDED, MODIFIED
// and DELETED of objects the user may not see are dropped; ERROR and BOOKMARK always pass.
import { fold, ItemWalker } from "./json-item.ts";
import { filterJsonList } from "./json-list.ts";
import { findMember, parseRange, skipString, skipValue, stringAt, utf8 } from "./json-scan.ts";
import { FilterRefusal, type ItemCheck } from "./types.ts";

const KIND = utf8("kind");
const NL = 10;
const ERROR_EVENT = utf8('"ERROR"');
const BOOKMARK_EVENT = utf8('"BOOKMARK"');

/** Longest event line held while waiting for its end (a watch event is one object: far below this). */
export const MAX_WATCH_EVENT_BYTES = 16 * 1024 * 1024;

/** pass / drop / bad, or the line rewritten (a Table event with some rows dropped). */
type Verdict = "pass" | "drop" | "bad" | Uint8Array;

function verdict(line: Uint8Array, allows: ItemCheck, state: TableState): Verdict {
  let s = 0;
  while (s < line.length && line[s]! <= 32) s++;
  if (s === line.length) return "pass"; // blank line (Bun starts a stream with one)
  const m = eventMembers(line, s);
  if (!m) return "bad";
  const [t, o] = m;
  const type = line.subarray(t[0], t[1]);
  if (same(type, ERROR_EVENT) || same(type, BOOKMARK_EVENT)) return "pass";
  const k = findMember(line, o[0], o[1], KIND);
  if (k && parseRange(line, k[0], k[1]) === "Table") return tableEvent(line, o, allows, state);
  let end: number;
  try {
    end = walker.walk(line, o[0], o[1]);
  } catch (err) {
    if (err instanceof FilterRefusal) return "bad";
    throw err;
  }
  if (end !== o[1]) return "bad";
  // An object without one readable name (none, two, not a string) is not shown (fail closed).
  return walker.readable && allows(walker.namespace, walker.name) ? "pass" : "drop";
}

/** Reads an event's object (no allocation but its name); one is enough, as events are read one at a time. */
const walker = new ItemWalker(false);

/**
 * The value ranges of an event's `type` and `object`; undefined when either is missing, not an
 * object where one is due, repeated, or spelled in another case (`"Type"`): a Go decoder keeps the
 * last of two and may match any case, so the event it reads could be another than the one checked;
 * undefined too when anything but whitespace follows the event on its line.
 */
function eventMembers(line: Uint8Array, s: number): [[number, number], [number, number]] | undefined {
  if (line[s] !== 0x7b) return undefined;
  let type: [number, number] | undefined;
  let object: [number, number] | undefined;
  let i = s + 1;
  const end = line.length;
  for (;;) {
    while (i < end && (line[i]! <= 32 || line[i] === 0x2c)) i++;
    if (i >= end) return undefined;
    if (line[i] === 0x7d) break;
    if (line[i] !== 0x22) return undefined;
    const keyEnd = skipString(line, i, end);
    // Only a key starting t, o (either case) or an escape can be read as type or object.
    const first = line[i + 1]! | 0x20;
    let key: "type" | "object" | undefined;
    if (first === 0x74 || first === 0x6f || first === 0x7c) {
      let text: string;
      try {
        text = stringAt(line, i, keyEnd);
      } catch {
        return undefined;
      }
      const folded = fold(text);
      if (folded === "type" || folded === "object") {
        if (text !== folded || (folded === "type" ? type : object)) return undefined;
        key = folded;
      }
    }
    i = keyEnd;
    while (i < end && line[i]! <= 32) i++;
    if (line[i] !== 0x3a) return undefined;
    i++;
    while (i < end && line[i]! <= 32) i++;
    const valueEnd = skipValue(line, i, end);
    if (key === "type") type = [i, valueEnd];
    else if (key === "object") object = [i, valueEnd];
    i = valueEnd;
  }
  // Nothing but whitespace after the event: a client frames a JSON watch value by value, not line
  // by line, so a second event on this line would reach it without being judged.
  for (let k = i + 1; k < end; k++) {
    const c = line[k];
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return undefined;
  }
  if (!type || !object || line[object[0]] !== 0x7b) return undefined;
  return [type, object];
}

/** Column definitions seen on a Table watch (upstream sends them with its first event only). */
interface TableState {
  columns?: Uint8Array;
  columnsSent: boolean;
}

const COLUMNS = utf8("columnDefinitions");

/**
 * A watch asked for as Table (kubectl get -w) carries a one-row Table per event: the row is filtered
 * like a list's, and an event left without rows is dropped. Upstream sends the column definitions
 * with its first event only: if that event is dropped they go out with the first event passed.
 */
function tableEvent(line: Uint8Array, o: [number, number], allows: ItemCheck, state: TableState): Verdict {
  const table = line.subarray(o[0], o[1]);
  const cols = findMember(table, 0, table.length, COLUMNS);
  if (cols && !state.columns) state.columns = table.slice(cols[0], cols[1]);
  let kept = 0;
  const parts = filterJsonList(table, (ns, name) => {
    const ok = allows(ns, name);
    if (ok) kept++;
    return ok;
  });
  if (kept === 0) return "drop";
  if (!state.columnsSent && !cols && state.columns) {
    // parts[0] starts with the Table's `{`: the definitions go right after it.
    const head = parts[0]!;
    parts.splice(
      0,
      1,
      head.subarray(0, 1),
      utf8('"columnDefinitions":'),
      state.columns,
      utf8(","),
      head.subarray(1),
    );
  }
  state.columnsSent = true;
  return concatAll([line.subarray(0, o[0]), ...parts, line.subarray(o[1])]);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The event that ends a watch kubeport could not read (the client re-lists, as after any ERROR). */
const unreadable = (why: string) =>
  utf8(
    `${JSON.stringify({
      type: "ERROR",
      object: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: `kubeport ended this watch: ${why}`,
        reason: "InternalError",
        code: 500,
      },
    })}\n`,
  );

/** The upstream watch body, filtered; whole lines out only (a partial line waits for its end). */
export function filterJsonWatch(
  body: ReadableStream<Uint8Array>,
  allows: ItemCheck,
): ReadableStream<Uint8Array> {
  let held: Uint8Array | undefined;
  let failed = false;
  const state: TableState = { columnsSent: false };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (failed) return;
        const buf = held ? concat(held, chunk) : chunk;
        held = undefined;
        let start = 0;
        let keptAll = true;
        const out: Uint8Array[] = [];
        for (;;) {
          const nl = buf.indexOf(NL, start);
          if (nl < 0) break;
          const line = buf.subarray(start, nl + 1);
          const v = verdict(line, allows, state);
          if (v === "bad") {
            failed = true;
            if (out.length) controller.enqueue(concatAll(out));
            controller.enqueue(unreadable("upstream sent a watch event it could not read"));
            controller.terminate();
            return;
          }
          if (v === "pass") out.push(line);
          else {
            keptAll = false;
            if (v !== "drop") out.push(v);
          }
          start = nl + 1;
        }
        if (start < buf.length) {
          held = buf.slice(start);
          if (held.length > MAX_WATCH_EVENT_BYTES) {
            failed = true;
            controller.enqueue(unreadable(`a watch event over ${MAX_WATCH_EVENT_BYTES} bytes`));
            controller.terminate();
            return;
          }
        }
        if (keptAll && start === buf.length && buf === chunk) controller.enqueue(chunk);
        else if (out.length) controller.enqueue(concatAll(out));
      },
      flush(controller) {
        // Upstream ended inside an event: that event is not passed on half written.
        if (!failed && held && held.some((x) => x > 32))
          controller.enqueue(unreadable("upstream ended the watch inside an event"));
      },
    }),
  );
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function concatAll(parts: Uint8Array[]): Uint8Array {
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
