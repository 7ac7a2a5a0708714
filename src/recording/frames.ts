// The stored form of a recording's events: binary frames, appended as the session runs.
// Each frame: type (1 byte), milliseconds since the session started (u32 BE), length (u32 BE), data.
// Recording copies bytes and nothing else (asciicast's JSON text is made when a recording is read:
// encoding every frame as JSON while relaying cost as much CPU as the relay itself), keeps binary
// streams (kubectl cp) exact, and a frame cut short by a crash is simply where the recording ends.

/** Frame types; each maps to an asciicast v2 event code (stderr and stdout are both "o"). */
export const FRAME = {
  /** What the pod wrote (stdout; a TTY's whole output, echoed input included). */
  output: 1,
  /** What the user sent (stdin): non-interactive sessions only (a TTY's keystrokes may be passwords). */
  input: 2,
  /** stderr of a non-interactive session. */
  stderr: 3,
  /** A terminal resize: "COLSxROWS". */
  resize: 4,
  /** A note in the recording (it stopped at its cap, the session ended with an error): text. */
  marker: 5,
} as const;
export type FrameType = (typeof FRAME)[keyof typeof FRAME];

/**
 * Never stored: the last frame of a gateway's /v1/recordings/:sid/frames body when the store failed
 * after the frames before it (a missing chunk); its data is the store's message. readFrames passes
 * it on only when asked (`wire`), so a stored byte 0xff is skipped as any unknown type.
 */
export const WIRE_ERROR = 0xff;

/** One frame's bytes: header and data. */
export function encodeFrame(type: number, ms: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + data.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, type);
  view.setUint32(1, Math.max(0, Math.min(Math.floor(ms), 0xffffffff)));
  view.setUint32(5, data.byteLength);
  out.set(data, HEADER);
  return out;
}

export interface Frame {
  type: FrameType;
  /** ms since the session started. */
  ms: number;
  data: Uint8Array;
}

const HEADER = 9;

/**
 * Frames gathered until taken as a chunk. Payloads are kept by reference (a relayed message is a
 * fresh buffer nobody writes to again; pass `copy` otherwise) and written as they are (writev) or joined once (S3): one copy
 * per byte recorded at most — a growing buffer cost ~1.5 ms of CPU per MB in copies and garbage.
 */
export class FrameBuffer {
  private parts: Uint8Array[] = [];
  private used = 0;

  /** Bytes waiting to be taken. */
  get size(): number {
    return this.used;
  }

  push(type: FrameType, ms: number, data: Uint8Array, copy = false): void {
    const h = Buffer.allocUnsafe(HEADER);
    h[0] = type;
    h.writeUInt32BE(Math.max(0, Math.min(Math.floor(ms), 0xffffffff)), 1);
    h.writeUInt32BE(data.byteLength, 5);
    this.parts.push(h, copy ? data.slice() : data);
    this.used += HEADER + data.byteLength;
  }

  /**
   * The oldest frames pushed since the last take, as one chunk in parts (headers and payloads, in
   * order: a file store writes them with one writev, no copy): all of them, or whole frames up to
   * `maxBytes` (at least one frame). What is not taken stays for the next take.
   */
  take(maxBytes = Number.POSITIVE_INFINITY): Uint8Array[] {
    if (this.used <= maxBytes) {
      const out = this.parts;
      this.parts = [];
      this.used = 0;
      return out;
    }
    let i = 0;
    let n = 0;
    while (i < this.parts.length) {
      const frame = this.parts[i]!.byteLength + this.parts[i + 1]!.byteLength;
      if (i > 0 && n + frame > maxBytes) break;
      n += frame;
      i += 2;
    }
    const out = this.parts.slice(0, i);
    this.parts = this.parts.slice(i);
    this.used -= n;
    return out;
  }
}

/**
 * Reads frames from consecutive chunks. A frame may not span chunks when written by FrameBuffer,
 * but a file store hands back one stream of bytes: partial frames are carried over, and a cut-off
 * last frame (a crash mid-write) is dropped.
 */
export async function* readFrames(
  chunks: AsyncIterable<Uint8Array>,
  { wire = false }: { wire?: boolean } = {},
): AsyncGenerator<Frame> {
  let rest: Uint8Array = new Uint8Array(0);
  for await (const chunk of chunks) {
    let buf = chunk;
    if (rest.byteLength > 0) {
      buf = new Uint8Array(rest.byteLength + chunk.byteLength);
      buf.set(rest);
      buf.set(chunk, rest.byteLength);
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = 0;
    while (at + HEADER <= buf.byteLength) {
      const type = view.getUint8(at) as FrameType;
      const ms = view.getUint32(at + 1);
      const len = view.getUint32(at + 5);
      if (at + HEADER + len > buf.byteLength) break;
      if ((type >= FRAME.output && type <= FRAME.marker) || (wire && (type as number) === WIRE_ERROR))
        yield { type, ms, data: buf.subarray(at + HEADER, at + HEADER + len) };
      at += HEADER + len;
    }
    rest = buf.slice(at);
  }
}
