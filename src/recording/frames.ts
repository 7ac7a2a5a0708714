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

export interface Frame {
  type: FrameType;
  /** ms since the session started. */
  ms: number;
  data: Uint8Array;
}

const HEADER = 9;

/** Frames gathered in one growing buffer until taken as a chunk. */
export class FrameBuffer {
  private buf = new Uint8Array(64 * 1024);
  private view = new DataView(this.buf.buffer);
  private used = 0;

  /** Bytes waiting to be taken. */
  get size(): number {
    return this.used;
  }

  push(type: FrameType, ms: number, data: Uint8Array): void {
    const need = this.used + HEADER + data.byteLength;
    if (need > this.buf.byteLength) {
      let cap = this.buf.byteLength * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.used));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.view.setUint8(this.used, type);
    this.view.setUint32(this.used + 1, Math.max(0, Math.min(Math.floor(ms), 0xffffffff)));
    this.view.setUint32(this.used + 5, data.byteLength);
    this.buf.set(data, this.used + HEADER);
    this.used = need;
  }

  /** The frames pushed since the last take, as one chunk (a copy); the buffer starts over. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.used);
    this.used = 0;
    // Give back memory a burst made us take.
    if (this.buf.byteLength > 4 * 1024 * 1024) {
      this.buf = new Uint8Array(64 * 1024);
      this.view = new DataView(this.buf.buffer);
    }
    return out;
  }
}

/**
 * Reads frames from consecutive chunks. A frame may not span chunks when written by FrameBuffer,
 * but a file store hands back one stream of bytes: partial frames are carried over, and a cut-off
 * last frame (a crash mid-write) is dropped.
 */
export async function* readFrames(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Frame> {
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
      if (type >= FRAME.output && type <= FRAME.marker)
        yield { type, ms, data: buf.subarray(at + HEADER, at + HEADER + len) };
      at += HEADER + len;
    }
    rest = buf.slice(at);
  }
}
