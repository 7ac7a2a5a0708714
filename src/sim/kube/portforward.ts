// port-forward over WebSocket (kubectl >= 1.31: subprotocol SPDY/3.1+portforward.k8s.io): SPDY/3.1 frames ride
// as a byte stream in binary messages. The simulated pod answers every port: an HTTP request gets a short
// HTTP response, anything else is echoed back.
//
// The simulator never decodes the client's header blocks (zlib-compressed with the SPDY dictionary), so it
// cannot tell kubectl's two streams per connection (error, data) apart and needs not: every stream is served
// on its own. kubectl half-closes an error stream at once and gets a FIN back (no error to report); a data
// stream gets its answer and then a FIN, which ends that connection on kubectl's side. Replies carry an empty
// header block written as uncompressed deflate blocks, which any zlib reader accepts.

export const PORTFORWARD_PROTOCOL = "SPDY/3.1+portforward.k8s.io";

const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const FLAG_FIN = 1;

interface Stream {
  received: Uint8Array[];
  closed: boolean;
}

/** One port-forward tunnel: feed it WebSocket binary messages; it writes frames back through `send`. */
export class PortForwardSession {
  private buf = new Uint8Array(0);
  private zlibStarted = false;
  private readonly streams = new Map<number, Stream>();
  /** Streams the client opened (two per forwarded connection with kubectl), for tests. */
  streamsOpened = 0;

  constructor(
    private readonly send: (bytes: Uint8Array) => void,
    readonly pod: string,
  ) {}

  onMessage(data: Uint8Array): void {
    const joined = new Uint8Array(this.buf.length + data.length);
    joined.set(this.buf);
    joined.set(data, this.buf.length);
    this.buf = joined;
    while (this.buf.length >= 8) {
      const length = (this.buf[5]! << 16) | (this.buf[6]! << 8) | this.buf[7]!;
      if (this.buf.length < 8 + length) return;
      const frame = this.buf.subarray(0, 8 + length);
      this.buf = this.buf.slice(8 + length);
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Uint8Array): void {
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const flags = frame[4] ?? 0;
    const payload = frame.subarray(8);
    if ((frame[0] ?? 0) & 0x80) {
      const type = view.getUint16(2);
      const id = frame.length >= 12 ? view.getUint32(8) & 0x7fffffff : 0;
      if (type === SYN_STREAM) {
        this.streams.set(id, { received: [], closed: false });
        this.streamsOpened += 1;
        this.reply(id);
      } else if (type === PING) this.send(frame.slice());
      else if (type === RST_STREAM) this.streams.delete(id);
      // SETTINGS, WINDOW_UPDATE, HEADERS and GOAWAY need no answer here.
      return;
    }
    const id = view.getUint32(0) & 0x7fffffff;
    const stream = this.streams.get(id);
    if (!stream || stream.closed) return;
    if (payload.length) stream.received.push(payload.slice());
    this.serve(id, stream, (flags & FLAG_FIN) !== 0);
  }

  /** Answers an HTTP request once its head is complete; echoes anything else; closes after the client's FIN. */
  private serve(id: number, stream: Stream, fin: boolean): void {
    const text = new TextDecoder().decode(concat(stream.received));
    if (/^[A-Z]+ \S+ HTTP\/1\.[01]\r\n/.test(text)) {
      if (!text.includes("\r\n\r\n") && !fin) return;
      const body = `hello from ${this.pod}\n`;
      this.data(
        id,
        `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      this.finish(id, stream);
      return;
    }
    if (stream.received.length) this.data(id, concat(stream.received));
    stream.received = [];
    if (fin) this.finish(id, stream);
  }

  private finish(id: number, stream: Stream): void {
    stream.closed = true;
    this.data(id, new Uint8Array(), true);
    this.streams.delete(id);
  }

  /** Ends the session politely (GOAWAY). */
  close(): void {
    const body = new Uint8Array(8);
    this.control(GOAWAY, 0, body);
  }

  private reply(id: number): void {
    // An empty header block (a 4-byte zero pair count) as a stored, non-final deflate block in the
    // session's single zlib stream, then an empty stored block as zlib's sync flush writes it (Go's
    // inflater hands out a block's bytes only when the next block starts); the first block also
    // carries the zlib header (no preset dictionary).
    const block = [0x00, 0x04, 0x00, 0xfb, 0xff, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xff, 0xff];
    const zlib = this.zlibStarted ? block : [0x78, 0x01, ...block];
    this.zlibStarted = true;
    const body = new Uint8Array(4 + zlib.length);
    new DataView(body.buffer).setUint32(0, id);
    body.set(zlib, 4);
    this.control(SYN_REPLY, 0, body);
  }

  private control(type: number, flags: number, body: Uint8Array): void {
    const frame = new Uint8Array(8 + body.length);
    const v = new DataView(frame.buffer);
    v.setUint16(0, 0x8003);
    v.setUint16(2, type);
    v.setUint32(4, body.length);
    frame[4] = flags;
    frame.set(body, 8);
    this.send(frame);
  }

  private data(id: number, payload: string | Uint8Array, fin = false): void {
    const bytes = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
    const frame = new Uint8Array(8 + bytes.length);
    const v = new DataView(frame.buffer);
    v.setUint32(0, id & 0x7fffffff);
    v.setUint32(4, bytes.length);
    frame[4] = fin ? FLAG_FIN : 0;
    frame.set(bytes, 8);
    this.send(frame);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
