// Recordings as asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2): a header line, then
// [seconds, code, data] lines. Also as plain text and as JSON events. Made from the stored frames.
import { FRAME, type Frame, readFrames } from "./frames.ts";
import type { RecordingInfo } from "./store.ts";

export interface CastHeader {
  version: 2;
  width: number;
  height: number;
  timestamp: number;
  duration?: number;
  idle_time_limit?: number;
  command?: string;
  title: string;
  env: Record<string, string>;
}

/** A cast event: seconds since the start, "o" output, "i" input, "r" resize ("COLSxROWS"), "m" marker. */
export type CastEvent = [number, "o" | "i" | "r" | "m", string];

const CODE: Record<number, CastEvent[1]> = {
  [FRAME.output]: "o",
  [FRAME.stderr]: "o",
  [FRAME.input]: "i",
  [FRAME.resize]: "r",
  [FRAME.marker]: "m",
};

/** How many frames are looked at for the first resize before the header is written without one. */
const SIZE_LOOKAHEAD = 64;

/**
 * The recording's header and events. Text is decoded per stream with a streaming decoder (a UTF-8
 * character split across frames stays whole); the size comes from the first resize (else 80x24).
 * A non-interactive session's "\n" becomes "\r\n", as a terminal would have shown it.
 */
export async function readCast(
  info: RecordingInfo,
  chunks: AsyncIterable<Uint8Array>,
): Promise<{ header: CastHeader; events: AsyncGenerator<CastEvent> }> {
  const it = readFrames(chunks);
  const ahead: Frame[] = [];
  let size: [number, number] | undefined;
  while (ahead.length < SIZE_LOOKAHEAD) {
    const n = await it.next();
    if (n.done) break;
    ahead.push(n.value);
    if (n.value.type === FRAME.resize) {
      const m = /^(\d+)x(\d+)$/.exec(new TextDecoder().decode(n.value.data));
      if (m) size = [Number(m[1]), Number(m[2])];
      break;
    }
    if (n.value.type === FRAME.output) break;
  }
  const header: CastHeader = {
    version: 2,
    width: size?.[0] ?? 80,
    height: size?.[1] ?? 24,
    timestamp: Math.floor(Date.parse(info.started) / 1000),
    ...(info.end ? { duration: info.end.duration_ms / 1000 } : {}),
    ...(info.command?.length ? { command: info.command.join(" ") } : {}),
    title: `${info.user}@${info.cluster} ${info.namespace}/${info.pod}${info.container ? `/${info.container}` : ""} (${info.kind} ${info.sid})`,
    env: { TERM: "xterm-256color", SHELL: "/bin/sh" },
  };
  const decoders = new Map<number, TextDecoder>();
  const decode = (f: Frame) => {
    let d = decoders.get(f.type);
    if (!d) {
      d = new TextDecoder();
      decoders.set(f.type, d);
    }
    const text = d.decode(f.data, { stream: true });
    return !info.tty && f.type !== FRAME.input && f.type !== FRAME.marker
      ? text.replace(/\r?\n/g, "\r\n")
      : text;
  };
  async function* events(): AsyncGenerator<CastEvent> {
    const one = (f: Frame): CastEvent | undefined => {
      const code = CODE[f.type];
      if (!code) return undefined;
      const data =
        f.type === FRAME.resize || f.type === FRAME.marker ? new TextDecoder().decode(f.data) : decode(f);
      return data === "" && code !== "m" ? undefined : [Math.round(f.ms) / 1000, code, data];
    };
    for (const f of ahead) {
      const e = one(f);
      if (e) yield e;
    }
    for await (const f of it) {
      const e = one(f);
      if (e) yield e;
    }
  }
  return { header, events: events() };
}

/** The .cast file: header, then one event per line. */
export async function* castLines(
  info: RecordingInfo,
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<string> {
  const { header, events } = await readCast(info, chunks);
  yield `${JSON.stringify(header)}\n`;
  for await (const e of events) yield `${JSON.stringify(e)}\n`;
}

// CSI/OSC/other escape sequences and the remaining controls: what `--format text` leaves out so the
// text is safe to read and grep (a recording may hold anything the pod wrote).
/**
 * `s` without terminal escape sequences (CSI `ESC [ … final`, OSC `ESC ] … BEL|ESC \`, two-byte
 * `ESC x`) and without the remaining controls but tab and newline: what `--format text` prints, so
 * the text is safe to read and grep (a recording holds whatever the pod wrote).
 */
export function stripControls(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x1b) {
      const next = s[i + 1];
      if (next === "[") {
        // Parameters and intermediates, then one final byte in @-~.
        i += 2;
        while (i < s.length && !(s.charCodeAt(i) >= 0x40 && s.charCodeAt(i) <= 0x7e)) i++;
      } else if (next === "]") {
        i += 2;
        while (i < s.length && s.charCodeAt(i) !== 0x07 && !(s.charCodeAt(i) === 0x1b && s[i + 1] === "\\"))
          i++;
        if (s.charCodeAt(i) === 0x1b) i++;
      } else i++;
      continue;
    }
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f)) continue;
    out += s[i];
  }
  return out;
}

/** The output as plain text: escape sequences and controls removed, "\r\n" as "\n". */
export async function* textLines(
  info: RecordingInfo,
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<string> {
  const { events } = await readCast(info, chunks);
  for await (const [, code, data] of events) {
    if (code === "o") yield stripControls(data.replace(/\r\n/g, "\n"));
    else if (code === "m") yield `\n[${stripControls(data)}]\n`;
  }
}

const TYPE_NAME: Record<CastEvent[1], string> = { o: "output", i: "input", r: "resize", m: "marker" };

/** One JSON object per event: time (RFC 3339), offset_ms, type, data. */
export async function* jsonLines(
  info: RecordingInfo,
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<string> {
  const { events } = await readCast(info, chunks);
  const t0 = Date.parse(info.started);
  for await (const [s, code, data] of events) {
    const ms = Math.round(s * 1000);
    yield `${JSON.stringify({ sid: info.sid, time: new Date(t0 + ms).toISOString(), offset_ms: ms, type: TYPE_NAME[code], data })}\n`;
  }
}
