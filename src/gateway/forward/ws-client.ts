// A minimal WebSocket client (RFC 6455) over Bun.connect TLS, for the upstream leg of exec/attach/
// port-forward. Bun's own WebSocket client joins repeated headers into one line (so several
// Impersonate-Group values would become one group) and hides the refusal body; this one writes each
// header line as given and hands back the upstream's HTTP status and body when it refuses.
import { createHash, randomBytes } from "node:crypto";
import type { Socket } from "bun";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export interface WsClientOptions {
  /** wss:// or ws:// URL. */
  url: string;
  /** Header lines, in order; a name may repeat. */
  headers: [string, string][];
  protocols: string[];
  ca?: string;
  timeoutMs?: number;
}

export type WsMessage = string | Uint8Array;

export interface WsClient {
  /** The subprotocol the server chose ("" when none). */
  readonly protocol: string;
  send(data: WsMessage): void;
  ping(data?: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onMessage?: (data: WsMessage) => void;
  onClose?: (code: number, reason: string) => void;
  /** Bytes queued because the socket could not take them yet. */
  bufferedAmount(): number;
  /** Called when the send queue has emptied. */
  onDrain?: () => void;
  /** Stop / start reading from upstream (TCP backpressure towards it). */
  pause(): void;
  resume(): void;
  /**
   * Starts delivering messages and the close to the handlers. Until then they are held: a server
   * that answers at once (`echo hi`) sends its frames and close in the same packet as the 101,
   * before the caller could set onMessage/onClose.
   */
  start(): void;
}

/** The upstream answered the upgrade with something other than 101. */
export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly contentType: string | undefined,
  ) {
    super(`upstream refused the WebSocket upgrade with HTTP ${status}`);
  }
}

const headerSafe = (s: string) => !/[\r\n\0]/.test(s);

/** Connects and completes the handshake; rejects with UpgradeRefused or a connection error. */
export function connectWs({
  url,
  headers,
  protocols,
  ca,
  timeoutMs = 10_000,
}: WsClientOptions): Promise<WsClient> {
  const u = new URL(url);
  const secure = u.protocol === "wss:";
  const port = Number(u.port || (secure ? 443 : 80));
  const key = randomBytes(16).toString("base64");
  const lines = [
    `GET ${u.pathname}${u.search} HTTP/1.1`,
    `Host: ${u.host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
    ...(protocols.length ? [`Sec-WebSocket-Protocol: ${protocols.join(", ")}`] : []),
  ];
  for (const [name, value] of headers) {
    if (!headerSafe(name) || !headerSafe(value))
      return Promise.reject(new Error(`invalid header ${JSON.stringify(name)}`));
    lines.push(`${name}: ${value}`);
  }
  const request = `${lines.join("\r\n")}\r\n\r\n`;

  return new Promise<WsClient>((resolve, reject) => {
    let settled = false;
    let handshake: Buffer | undefined = Buffer.alloc(0);
    let client: Client | undefined;
    const timer = setTimeout(() => fail(new Error("upstream WebSocket handshake timed out")), timeoutMs);
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock?.end();
      reject(err);
    };
    let sock: Socket<undefined> | undefined;
    Bun.connect({
      hostname: u.hostname.replace(/^\[|\]$/g, ""),
      port,
      ...(secure ? { tls: { ...(ca ? { ca } : {}), serverName: u.hostname } } : {}),
      socket: {
        open(s) {
          sock = s;
          s.write(request);
        },
        data(s, chunk) {
          if (client) return client.feed(chunk);
          handshake = Buffer.concat([handshake!, chunk]);
          const end = handshake.indexOf("\r\n\r\n");
          if (end < 0) {
            if (handshake.length > 64 * 1024) fail(new Error("upstream handshake response too large"));
            return;
          }
          const head = handshake.subarray(0, end).toString("latin1").split("\r\n");
          const rest = handshake.subarray(end + 4);
          handshake = undefined;
          const status = Number(head[0]?.split(" ")[1]);
          const h = new Map<string, string>();
          for (const line of head.slice(1)) {
            const i = line.indexOf(":");
            if (i > 0) h.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
          }
          if (status !== 101) {
            // Give the body a moment to arrive whole, then report it (it is usually a Status).
            const body = [rest];
            const len = Number(h.get("content-length") ?? Number.NaN);
            const finish = () =>
              fail(new UpgradeRefused(status, Buffer.concat(body).toString("utf8"), h.get("content-type")));
            if (Number.isNaN(len) || rest.length >= len) return finish();
            const feed = (c: Buffer) => {
              body.push(c);
              if (Buffer.concat(body).length >= len) finish();
            };
            client = { feed } as unknown as Client;
            setTimeout(finish, 500);
            return;
          }
          const accept = createHash("sha1")
            .update(key + GUID)
            .digest("base64");
          if (h.get("sec-websocket-accept") !== accept)
            return fail(new Error("upstream sent a wrong Sec-WebSocket-Accept"));
          const protocol = h.get("sec-websocket-protocol") ?? "";
          if (protocol && !protocols.includes(protocol))
            return fail(new Error(`upstream chose subprotocol ${protocol} that was not offered`));
          settled = true;
          clearTimeout(timer);
          client = new Client(s, protocol);
          resolve(client);
          if (rest.length) client.feed(rest);
        },
        drain: () => client?.drain(),
        close: () => {
          if (!settled) fail(new Error("upstream closed the connection during the handshake"));
          client?.closed(1006, "");
        },
        error: (_s, err) => {
          if (!settled) fail(err);
          else client?.closed(1006, err.message);
        },
      },
    }).catch((err: Error) => fail(err));
  });
}

/** out[at + i] = payload[i] ^ mask[i % 4], four bytes at a time. */
function applyMask(payload: Uint8Array, mask: Buffer, out: Buffer, at: number) {
  const n = payload.length;
  const words = n >>> 2;
  const src = Buffer.from(payload.buffer, payload.byteOffset, n);
  const m = mask.readInt32LE(0);
  for (let w = 0; w < words; w++) out.writeInt32LE(src.readInt32LE(w << 2) ^ m, at + (w << 2));
  for (let i = words << 2; i < n; i++) out[at + i] = payload[i]! ^ mask[i & 3]!;
}

class Client implements WsClient {
  onMessage?: (data: WsMessage) => void;
  onClose?: (code: number, reason: string) => void;
  onDrain?: () => void;
  private buf: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentOp = 0;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private closeSent = false;
  private done = false;
  private started = false;
  private heldClose: { code: number; reason: string } | undefined;

  constructor(
    private readonly sock: Socket<undefined>,
    readonly protocol: string,
  ) {}

  bufferedAmount = () => this.queued;
  pause = () => void this.sock.pause();
  resume = () => void this.sock.resume();

  send(data: WsMessage) {
    if (typeof data === "string") this.frame(0x1, Buffer.from(data));
    else this.frame(0x2, data);
  }

  ping(data: Uint8Array = new Uint8Array(0)) {
    this.frame(0x9, data.subarray(0, 125));
  }

  close(code = 1000, reason = "") {
    if (this.closeSent || this.done) return;
    this.closeSent = true;
    const r = Buffer.from(reason).subarray(0, 123);
    const payload = Buffer.alloc(2 + r.length);
    payload.writeUInt16BE(code, 0);
    r.copy(payload, 2);
    this.frame(0x8, payload);
    setTimeout(() => this.sock.end(), 1000).unref?.();
  }

  private frame(opcode: number, payload: Uint8Array) {
    if (this.done || (this.closeSent && opcode !== 0x8)) return;
    const n = payload.length;
    const headLen = n < 126 ? 2 : n < 65536 ? 4 : 10;
    const out = Buffer.allocUnsafe(headLen + 4 + n);
    out[0] = 0x80 | opcode;
    if (n < 126) out[1] = 0x80 | n;
    else if (n < 65536) {
      out[1] = 0x80 | 126;
      out.writeUInt16BE(n, 2);
    } else {
      out[1] = 0x80 | 127;
      out.writeBigUInt64BE(BigInt(n), 2);
    }
    const mask = randomBytes(4);
    mask.copy(out, headLen);
    applyMask(payload, mask, out, headLen + 4);
    this.write(out);
  }

  private write(bytes: Uint8Array) {
    if (this.queue.length === 0) {
      const wrote = this.sock.write(bytes);
      if (wrote === bytes.length) return;
      bytes = bytes.subarray(Math.max(0, wrote));
    }
    this.queue.push(bytes);
    this.queued += bytes.length;
  }

  drain() {
    while (this.queue.length) {
      const head = this.queue[0]!;
      const wrote = this.sock.write(head);
      this.queued -= Math.max(0, wrote);
      if (wrote < head.length) {
        this.queue[0] = head.subarray(Math.max(0, wrote));
        return;
      }
      this.queue.shift();
    }
    this.onDrain?.();
  }

  start() {
    if (this.started) return;
    this.started = true;
    this.feed(Buffer.alloc(0));
    const held = this.heldClose;
    if (held && !this.done) this.closed(held.code, held.reason);
  }

  feed(chunk: Buffer) {
    // Copy: Bun may reuse the chunk's memory after this callback.
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    while (this.started && !this.done) {
      const b = this.buf;
      if (b.length < 2) return;
      const fin = (b[0]! & 0x80) !== 0;
      const op = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      const maskOff = off;
      if (masked) off += 4;
      if (b.length < off + len) return;
      let payload = b.subarray(off, off + len);
      if (masked) {
        payload = Buffer.from(payload);
        for (let i = 0; i < len; i++) payload[i]! ^= b[maskOff + (i & 3)]!;
      }
      this.buf = b.subarray(off + len);
      this.onFrame(fin, op, payload);
    }
  }

  private onFrame(fin: boolean, op: number, payload: Buffer) {
    if (op === 0x9) return this.frame(0xa, payload);
    if (op === 0xa) return;
    if (op === 0x8) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      const reason = payload.length > 2 ? payload.subarray(2).toString("utf8") : "";
      if (!this.closeSent) this.close(code === 1005 ? 1000 : code, "");
      // Report first: ending the socket runs its close handler synchronously (which would say 1006).
      this.closed(code, reason);
      this.sock.end();
      return;
    }
    if (op !== 0x0) {
      this.fragmentOp = op;
      this.fragments = [];
    }
    if (!fin) {
      this.fragments.push(Buffer.from(payload));
      return;
    }
    const whole = this.fragments.length ? Buffer.concat([...this.fragments, payload]) : payload;
    this.fragments = [];
    // Copy: the receive buffer is reused.
    this.onMessage?.(this.fragmentOp === 0x1 ? whole.toString("utf8") : new Uint8Array(whole));
  }

  closed(code: number, reason: string) {
    if (!this.started) {
      this.heldClose ??= { code, reason };
      return;
    }
    if (this.done) return;
    this.done = true;
    this.onClose?.(code, reason);
  }
}
