// A minimal WebSocket client (RFC 6455) over Bun.connect TLS, for the upstream leg of exec/attach/
// port-forward, through the egress proxy (HTTP CONNECT) when HTTPS_PROXY/NO_PROXY say so. Bun's own WebSocket client joins repeated headers into one line (so several
// Impersonate-Group values would become one group) and hides the refusal body; this one writes each
// header line as given and hands back the upstream's HTTP status and body when it refuses.
import { createHash, randomBytes } from "node:crypto";
import type { Socket, SocketHandler } from "bun";
import {
  connectRequest,
  type Egress,
  ProxyError,
  parseConnectReply,
  processEgress,
  proxyConnectFailure,
  tunnelRefused,
} from "../../lib/egress/index.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export interface WsClientOptions {
  /** wss:// or ws:// URL. */
  url: string;
  /** Header lines, in order; a name may repeat. */
  headers: [string, string][];
  protocols: string[];
  ca?: string;
  timeoutMs?: number;
  /** Which proxy (HTTPS_PROXY / NO_PROXY) the connection goes through; default: the process's. */
  egress?: Egress;
  /** Largest message accepted from upstream (fragments together); a larger one closes with 1009. */
  maxMessageBytes?: number;
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
  /**
   * Runs the delivery of one socket read's messages (a read holds many): the relay sets it to its
   * client's cork, so those messages leave in one write instead of one each.
   */
  batch?: (deliver: () => void) => void;
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

/** No line breaks or NUL, and one byte per character: header strings are written as Latin-1 bytes. */
const headerSafe = (s: string) => !/[\r\n\0\u0100-\uffff]/.test(s);

/** Connects and completes the handshake; rejects with UpgradeRefused or a connection error. */
export function connectWs({
  url,
  headers,
  protocols,
  ca,
  timeoutMs = 10_000,
  egress = processEgress(),
  maxMessageBytes = DEFAULT_MAX_MESSAGE,
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

  const hostname = u.hostname.replace(/^\[|\]$/g, "");
  const proxy = egress.routeHost(hostname, port, secure);
  const tlsOptions = { ...(ca ? { ca } : {}), serverName: hostname };

  return new Promise<WsClient>((resolve, reject) => {
    let settled = false;
    let handshake: Buffer | undefined = Buffer.alloc(0);
    let client: Client | undefined;
    const timer = setTimeout(
      () =>
        fail(
          proxy
            ? new ProxyError(proxy, u.host, `upstream WebSocket handshake timed out after ${timeoutMs} ms`)
            : new Error("upstream WebSocket handshake timed out"),
        ),
      timeoutMs,
    );
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock?.end();
      reject(err);
    };
    let sock: Socket<undefined> | undefined;

    /** The WebSocket handshake and then the frames, on a socket to the target (direct or tunnelled). */
    const ws: SocketHandler<undefined> = {
      open(s) {
        sock = s;
        // Latin-1: a header's characters are its bytes, as fetch and node:https write them (a client's
        // header passed through arrives byte for byte; impersonated names are UTF-8 by headerBytes).
        s.write(Buffer.from(request, "latin1"));
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
        client = new Client(s, protocol, maxMessageBytes);
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
    };

    if (!proxy) {
      Bun.connect({
        hostname,
        port,
        ...(secure ? { tls: tlsOptions } : {}),
        socket: ws,
      }).catch((err: Error) => fail(err));
      return;
    }

    // Through the egress proxy: CONNECT host:port, then TLS (wss) or the handshake (ws) in the tunnel.
    let reply = Buffer.alloc(0);
    let tunnelled = false;
    const proxyFail = (detail: string, cause?: unknown) =>
      fail(new ProxyError(proxy, u.host, detail, cause === undefined ? undefined : { cause }));
    Bun.connect({
      hostname: proxy.host,
      port: proxy.port,
      socket: {
        open(s) {
          sock = s;
          s.write(connectRequest(proxy, hostname, port));
        },
        data(s, chunk) {
          // After a TLS upgrade the raw socket still sees the encrypted bytes: the TLS socket reads them.
          if (tunnelled) return secure ? undefined : ws.data!(s, chunk);
          reply = Buffer.concat([reply, chunk]);
          const answer = parseConnectReply(reply);
          if (!answer) return;
          if (answer.status < 200 || answer.status > 299)
            return proxyFail(tunnelRefused(answer.status, answer.statusText));
          tunnelled = true;
          if (!secure) return ws.open!(s);
          s.upgradeTLS({
            tls: tlsOptions,
            socket: {
              ...ws,
              // The request goes once TLS is up: written earlier, it was lost on Bun 1.4.5.
              open() {},
              handshake(t, ok, authError) {
                if (!ok || authError)
                  return fail(authError ?? new Error("TLS handshake with upstream failed"));
                ws.open!(t);
              },
            },
          });
        },
        drain: (s) => (secure ? undefined : ws.drain!(s)),
        close: (s) => {
          if (!tunnelled) return proxyFail("the proxy closed the connection before answering CONNECT");
          if (!secure) ws.close!(s, undefined as never);
        },
        error: (s, err) => {
          if (!tunnelled) return proxyFail(proxyConnectFailure(err), err);
          if (!secure) ws.error!(s, err);
        },
        connectError: (_s, err) => proxyFail(proxyConnectFailure(err), err),
      },
    }).catch((err: Error) => proxyFail(proxyConnectFailure(err), err));
  });
}

/** Largest message accepted from upstream unless told (the API server sends 32 KiB frames). */
const DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024;
/** Where a sent payload starts in the send buffer, modulo this (see Client.frame). */
const ALIGN = 64;
/** A send buffer bigger than this is not kept for the next frame. */
const KEEP_SCRATCH = 1024 * 1024;

/** Masking keys come from one CSPRNG draw per 1024 frames, not a crypto call per frame. */
const maskPool = new Uint8Array(4096);
let maskAt = maskPool.length;
function nextMask(): Uint8Array {
  if (maskAt >= maskPool.length) {
    crypto.getRandomValues(maskPool);
    maskAt = 0;
  }
  maskAt += 4;
  return maskPool.subarray(maskAt - 4, maskAt);
}

/** The frame being received: its header fields and the payload filled so far. */
interface Incoming {
  fin: boolean;
  op: number;
  mask?: Uint8Array;
  payload: Uint8Array;
  filled: number;
}

const utf8 = new TextDecoder();

/**
 * Frames without per-chunk concatenation: a received payload that lies whole in one of the
 * socket's chunks is handed over as a view of it, no copy (Bun hands each read over in a fresh
 * buffer it never writes to again, tested in ws-client.test.ts; a TLS read is up to 1 MiB, so most
 * frames do); one that spans chunks is copied once into its own buffer. A sent one is copied once
 * into a reused send buffer and masked in place a word at a time (the old per-frame Buffer.concat,
 * copies and Buffer word calls cost more than half of exec's throughput through the gateway).
 */
class Client implements WsClient {
  onMessage?: (data: WsMessage) => void;
  onClose?: (code: number, reason: string) => void;
  onDrain?: () => void;
  batch?: (deliver: () => void) => void;
  /** Header bytes of the next frame (at most 2 + 8 + 4). */
  private head = new Uint8Array(14);
  private headLen = 0;
  private incoming: Incoming | undefined;
  /** Chunks that arrived before start() or while paused. */
  private held: Uint8Array[] = [];
  private fragments: Uint8Array[] = [];
  private fragmentBytes = 0;
  private fragmentOp = 0;
  private queue: Uint8Array[] = [];
  private queued = 0;
  /** Send buffer (word-aligned, so the payload can be masked through a Uint32Array view). */
  private scratch = new Uint8Array(0);
  private words = new Uint32Array(0);
  private closeSent = false;
  private done = false;
  private started = false;
  private paused = false;
  private heldClose: { code: number; reason: string } | undefined;

  constructor(
    private readonly sock: Socket<undefined>,
    readonly protocol: string,
    private readonly maxMessage: number,
  ) {}

  bufferedAmount = () => this.queued;
  /**
   * Stops reading, and stops delivering too: frames already read in the current chunk wait in
   * `held` (a chunk can hold many frames; delivering them would defeat the caller's backpressure).
   */
  pause = () => {
    this.paused = true;
    this.sock.pause();
  };
  resume = () => {
    if (!this.paused) return;
    this.paused = false;
    this.sock.resume();
    this.release();
  };

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
    // The payload goes at the same offset modulo 64 as it has in its own buffer (rounded down to a
    // word, for the masking view): glibc's memmove (rep movsb) runs ~30x slower on this machine's
    // CPUs when the destination is a few bytes past the source's alignment, and a payload right
    // after its header (offset 8) was exactly that for every frame (~1.3 ms of CPU per MB).
    const at = ALIGN + (payload.byteOffset & (ALIGN - 4));
    const start = at - 4 - headLen;
    const size = at + n;
    if (this.scratch.length < size) {
      const buf = new ArrayBuffer(Math.max(size, Math.min(2 * this.scratch.length, KEEP_SCRATCH)));
      this.scratch = new Uint8Array(buf);
      this.words = new Uint32Array(buf, 0, buf.byteLength >>> 2);
    }
    const b = this.scratch;
    b[start] = 0x80 | opcode;
    if (n < 126) b[start + 1] = 0x80 | n;
    else if (n < 65536) {
      b[start + 1] = 0x80 | 126;
      b[start + 2] = n >>> 8;
      b[start + 3] = n & 0xff;
    } else {
      b[start + 1] = 0x80 | 127;
      // 2^53 > any length we send: the top two bytes are zero.
      b[start + 2] = 0;
      b[start + 3] = 0;
      const hi = Math.floor(n / 2 ** 32);
      for (let i = 0; i < 2; i++) b[start + 4 + i] = (hi >>> (8 * (1 - i))) & 0xff;
      for (let i = 0; i < 4; i++) b[start + 6 + i] = (n >>> (8 * (3 - i))) & 0xff;
    }
    const mask = nextMask();
    b.set(mask, at - 4);
    b.set(payload, at);
    const m = this.words[(at - 4) >>> 2]!;
    const w0 = at >>> 2;
    const wn = w0 + (n >>> 2);
    const words = this.words;
    for (let w = w0; w < wn; w++) words[w]! ^= m;
    for (let i = n & ~3; i < n; i++) b[at + i]! ^= mask[i & 3]!;
    this.write(b.subarray(start, size));
    if (this.scratch.length > KEEP_SCRATCH) {
      this.scratch = new Uint8Array(0);
      this.words = new Uint32Array(0);
    }
  }

  /** Writes or queues `bytes`, a view of the send buffer: whatever is queued is copied out of it. */
  private write(bytes: Uint8Array) {
    if (this.queue.length === 0) {
      const wrote = this.sock.write(bytes);
      if (wrote === bytes.length) return;
      bytes = bytes.subarray(Math.max(0, wrote));
    }
    this.queue.push(bytes.slice());
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
    this.release();
  }

  /** Delivers what was held back (before start, or while paused), then a held close. */
  private release() {
    while (this.held.length && this.started && !this.paused) this.process(this.held.shift()!);
    const held = this.heldClose;
    if (held && !this.done && this.held.length === 0 && !this.paused) this.closed(held.code, held.reason);
  }

  feed(chunk: Uint8Array) {
    if (!this.started || this.paused || this.held.length) {
      // Kept as it is: the chunk is a fresh buffer (see the class comment).
      if (chunk.length) this.held.push(chunk);
      return;
    }
    if (this.batch) this.batch(() => this.process(chunk));
    else this.process(chunk);
  }

  private process(chunk: Uint8Array) {
    const n = chunk.length;
    let i = 0;
    while (i < n && !this.done) {
      let cur = this.incoming;
      if (!cur) {
        const h = this.head;
        while (this.headLen < 2 && i < n) h[this.headLen++] = chunk[i++]!;
        if (this.headLen < 2) return;
        const len7 = h[1]! & 0x7f;
        const masked = (h[1]! & 0x80) !== 0;
        const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
        while (this.headLen < need && i < n) h[this.headLen++] = chunk[i++]!;
        if (this.headLen < need) return;
        let len = len7;
        let off = 2;
        if (len7 === 126) {
          len = (h[2]! << 8) | h[3]!;
          off = 4;
        } else if (len7 === 127) {
          len = 0;
          for (let k = 2; k < 10; k++) len = len * 256 + h[k]!;
          off = 10;
        }
        // Checked on the header, before any of the payload is buffered; fragments count together.
        const continuation = (h[0]! & 0x0f) === 0;
        if (len + (continuation ? this.fragmentBytes : 0) > this.maxMessage) return this.tooBig();
        const fin = (h[0]! & 0x80) !== 0;
        const op = h[0]! & 0x0f;
        this.headLen = 0;
        if (!masked && n - i >= len) {
          // The whole payload is in this chunk: a view of it, no copy (chunks are fresh buffers).
          const payload = chunk.subarray(i, i + len);
          i += len;
          if (this.deliver(fin, op, payload, chunk, i)) return;
          continue;
        }
        cur = {
          fin,
          op,
          ...(masked ? { mask: h.slice(off, off + 4) } : {}),
          payload: new Uint8Array(len),
          filled: 0,
        };
        this.incoming = cur;
      }
      const take = Math.min(cur.payload.length - cur.filled, n - i);
      if (take > 0) {
        cur.payload.set(chunk.subarray(i, i + take), cur.filled);
        cur.filled += take;
        i += take;
      }
      if (cur.filled < cur.payload.length) return;
      this.incoming = undefined;
      const { payload, mask } = cur;
      if (mask) for (let k = 0; k < payload.length; k++) payload[k]! ^= mask[k & 3]!;
      if (this.deliver(cur.fin, cur.op, payload, chunk, i)) return;
    }
  }

  /**
   * Hands a whole frame on. True when that paused delivery with more of `chunk` (from `rest`) to
   * read: the rest is held, ahead of later chunks, until resume().
   */
  private deliver(fin: boolean, op: number, payload: Uint8Array, chunk: Uint8Array, rest: number): boolean {
    this.onFrame(fin, op, payload);
    if (!this.paused || rest >= chunk.length) return false;
    this.held.unshift(chunk.subarray(rest));
    return true;
  }

  private tooBig() {
    this.close(1009, "message too big");
    this.closed(1009, `upstream message larger than ${this.maxMessage} bytes`);
    this.sock.end();
  }

  private onFrame(fin: boolean, op: number, payload: Uint8Array) {
    if (op === 0x9) return this.frame(0xa, payload);
    if (op === 0xa) return;
    if (op === 0x8) {
      const code = payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : 1005;
      const reason = payload.length > 2 ? utf8.decode(payload.subarray(2)) : "";
      if (!this.closeSent) this.close(code === 1005 ? 1000 : code, "");
      // Report first: ending the socket runs its close handler synchronously (which would say 1006).
      this.closed(code, reason);
      this.sock.end();
      return;
    }
    if (op !== 0x0) {
      this.fragmentOp = op;
      this.fragments = [];
      this.fragmentBytes = 0;
    }
    if (!fin) {
      this.fragments.push(payload);
      this.fragmentBytes += payload.length;
      return;
    }
    const whole = this.fragments.length ? Buffer.concat([...this.fragments, payload]) : payload;
    this.fragments = [];
    this.fragmentBytes = 0;
    // The payload is this frame's own buffer: handed over without another copy.
    this.onMessage?.(this.fragmentOp === 0x1 ? utf8.decode(whole) : whole);
  }

  closed(code: number, reason: string) {
    if (!this.started || ((this.paused || this.held.length) && !this.done && code === 1006)) {
      this.heldClose ??= { code, reason };
      return;
    }
    if (this.done) return;
    this.done = true;
    this.onClose?.(code, reason);
  }
}
