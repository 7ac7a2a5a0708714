// Attack-shaped WebSocket parts for the limits tests and scripts/probe-limits.ts: a raw RFC 6455
// client over TLS that writes frames of any size in chunks (a 60 MiB frame costs it 1 MiB) and can
// stop reading; a TLS WebSocket upstream that records what reaches it and can stop reading or send
// a stream of big frames; a kubeport gateway process whose memory can be read from /proc.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect, type TLSSocket } from "node:tls";
import type { ServerWebSocket, Subprocess } from "bun";
import { startTlsUpstream } from "./tls-upstream.ts";

export const MiB = 1024 * 1024;

/** A frame the raw client received. */
export interface Frame {
  op: number;
  fin: boolean;
  payload: Buffer;
}

export interface RawWs {
  /** The HTTP status of the handshake answer (101 on success). */
  status: number;
  /** The handshake answer's head and body as received (for refusals). */
  response: string;
  frames: Frame[];
  /** The close code the server sent (undefined until it did), 1006 when the socket just ended. */
  closeCode(): number | undefined;
  /** Resolves with the close code once the server closed or the socket ended. */
  closed: Promise<number>;
  /**
   * Writes one frame of `length` bytes (default op 2, fin), masked, in 1 MiB chunks, waiting for
   * the socket to drain; each payload byte is `fill` unless `payload` is given. Resolves with the
   * bytes written (fewer when the server closed first).
   */
  send(opts: {
    length?: number;
    payload?: Uint8Array;
    op?: number;
    fin?: boolean;
    fill?: number;
  }): Promise<number>;
  /** Stop / start reading from the socket (TCP backpressure towards the gateway). */
  pause(): void;
  resume(): void;
  end(): void;
}

/** Connects to `url` (https://host:port) and upgrades `path` with a v5 exec handshake. */
export function rawWs(url: string, path: string, opts: { token: string; ca: string }): Promise<RawWs> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock: TLSSocket = connect(
      { host: u.hostname, port: Number(u.port), ca: opts.ca, servername: "localhost" },
      () => {
        sock.write(
          [
            `GET ${path} HTTP/1.1`,
            `Host: ${u.host}`,
            "Upgrade: websocket",
            "Connection: Upgrade",
            `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Protocol: v5.channel.k8s.io",
            `Authorization: Bearer ${opts.token}`,
            "",
            "",
          ].join("\r\n"),
        );
      },
    );
    let head: Buffer | undefined = Buffer.alloc(0);
    let buf: Buffer = Buffer.alloc(0);
    let code: number | undefined;
    let closedResolve: (c: number) => void = () => {};
    const closed = new Promise<number>((r) => (closedResolve = r));
    const frames: Frame[] = [];
    const finish = (c: number) => {
      code ??= c;
      closedResolve(code);
    };
    let ws: RawWs | undefined;
    const parse = () => {
      for (;;) {
        if (buf.length < 2) return;
        const len7 = buf[1]! & 0x7f;
        let off = 2;
        let len = len7;
        if (len7 === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len7 === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) return;
        const f = { op: buf[0]! & 0x0f, fin: (buf[0]! & 0x80) !== 0, payload: buf.subarray(off, off + len) };
        buf = buf.subarray(off + len);
        frames.push(f);
        if (f.op === 8) finish(f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005);
      }
    };
    sock.on("data", (d: Buffer) => {
      if (head) {
        head = Buffer.concat([head, d]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        const text = head.toString("latin1");
        const status = Number(text.split(" ")[1]);
        buf = head.subarray(end + 4);
        head = undefined;
        ws = makeWs(status, text);
        resolve(ws);
        if (status !== 101) return;
        parse();
        return;
      }
      if (ws && ws.status !== 101) {
        (ws as { response: string }).response += d.toString("latin1");
        return;
      }
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      parse();
    });
    sock.on("close", () => finish(1006));
    sock.on("error", (err) => {
      if (!ws) reject(err);
      finish(1006);
    });

    const makeWs = (status: number, response: string): RawWs => ({
      status,
      response,
      frames,
      closeCode: () => code,
      closed,
      async send({ length, payload, op = 2, fin = true, fill = 0x61 }) {
        const n = payload?.length ?? length ?? 0;
        const h = Buffer.alloc(14);
        h[0] = (fin ? 0x80 : 0) | op;
        let at = 2;
        if (n < 126) h[1] = 0x80 | n;
        else if (n < 65536) {
          h[1] = 0x80 | 126;
          h.writeUInt16BE(n, 2);
          at = 4;
        } else {
          h[1] = 0x80 | 127;
          h.writeBigUInt64BE(BigInt(n), 2);
          at = 10;
        }
        const mask = randomBytes(4);
        mask.copy(h, at);
        const write = async (b: Buffer) => {
          if (sock.destroyed || sock.writableEnded) return false;
          if (!sock.write(b))
            await new Promise<void>((r) => {
              const done = () => {
                sock.off("drain", done);
                sock.off("close", done);
                r();
              };
              sock.on("drain", done);
              sock.on("close", done);
            });
          return !sock.destroyed;
        };
        if (!(await write(h.subarray(0, at + 4)))) return 0;
        const CHUNK = MiB;
        // One masked chunk of `fill`, reused (CHUNK is a multiple of 4, so the mask lines up).
        const filled = payload ? undefined : Buffer.alloc(Math.min(CHUNK, n), fill);
        if (filled) for (let i = 0; i < filled.length; i++) filled[i]! ^= mask[i & 3]!;
        let sent = 0;
        while (sent < n) {
          const size = Math.min(CHUNK, n - sent);
          let chunk: Buffer;
          if (payload) {
            chunk = Buffer.from(payload.subarray(sent, sent + size));
            for (let i = 0; i < size; i++) chunk[i]! ^= mask[(sent + i) & 3]!;
          } else chunk = filled!.subarray(0, size);
          if (!(await write(chunk))) return sent;
          sent += size;
        }
        return sent;
      },
      pause: () => void sock.pause(),
      resume: () => void sock.resume(),
      end: () => void sock.destroy(),
    });
  });
}

/** What reached the upstream on one WebSocket connection. */
export interface UpstreamConn {
  path: string;
  messages: number;
  bytes: number;
  /** Sizes of the messages received, in order. */
  sizes: number[];
  /** First bytes (up to 8) of each message, in order: tests put a session id and sequence there. */
  heads: Buffer[];
  ws: ServerWebSocket<UpstreamConn>;
  closed: boolean;
}

export interface WsUpstream {
  url: string;
  caPem: string;
  conns: UpstreamConn[];
  /** Resume reading on every connection that was opened with `?paused=1`. */
  resumeAll(): void;
  close(): Promise<void>;
}

/**
 * An API-server stand-in for exec WebSockets. Query parameters: `paused=1` does not read from the
 * client at all until resumeAll(); `send=N&size=S` sends N binary messages of S bytes on open
 * (the first 8 bytes: u32 connection number, u32 sequence), honouring backpressure.
 */
export async function startWsUpstream(): Promise<WsUpstream> {
  const conns: UpstreamConn[] = [];
  const paused = new Set<ServerWebSocket<UpstreamConn>>();
  const senders = new Map<ServerWebSocket<UpstreamConn>, () => void>();
  const server = await startTlsUpstream<UpstreamConn>({
    fetch(req, srv) {
      const u = new URL(req.url);
      const conn = {
        path: u.pathname + u.search,
        messages: 0,
        bytes: 0,
        sizes: [],
        heads: [],
        closed: false,
      } as unknown as UpstreamConn;
      const ok = srv.upgrade(req, {
        data: conn,
        headers: new Headers({ "Sec-WebSocket-Protocol": "v5.channel.k8s.io" }),
      });
      return ok ? undefined : new Response("upgrade failed", { status: 400 });
    },
    websocket: {
      maxPayloadLength: 1024 * MiB,
      backpressureLimit: 0,
      open(ws) {
        ws.data.ws = ws;
        conns.push(ws.data);
        const q = new URL(`http://x${ws.data.path}`).searchParams;
        if (q.get("paused") === "1") {
          ws.pause();
          paused.add(ws);
        }
        const count = Number(q.get("send") ?? 0);
        const size = Number(q.get("size") ?? 0);
        if (count > 0) {
          const id = conns.length;
          let seq = 0;
          const pump = () => {
            while (seq < count) {
              const m = Buffer.alloc(size, 0x62);
              m.writeUInt32BE(id, 0);
              m.writeUInt32BE(seq, 4);
              seq++;
              if (ws.send(m) === -1) return; // queued: continue on drain
            }
            senders.delete(ws);
          };
          senders.set(ws, pump);
          pump();
        }
      },
      drain(ws) {
        senders.get(ws)?.();
      },
      message(ws, msg) {
        const b = typeof msg === "string" ? Buffer.from(msg) : msg;
        ws.data.messages++;
        ws.data.bytes += b.length;
        ws.data.sizes.push(b.length);
        ws.data.heads.push(Buffer.from(b.subarray(0, 8)));
      },
      close(ws) {
        ws.data.closed = true;
      },
    },
  });
  return {
    url: server.url,
    caPem: server.caPem,
    conns,
    resumeAll() {
      for (const ws of paused) ws.resume();
      paused.clear();
    },
    close: () => server.stop(),
  };
}

/** Resident and peak resident memory of a process, in MiB (Linux /proc). */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { rss: Math.round(kb("VmRSS") / 1024), peak: Math.round(kb("VmHWM") / 1024) };
}

/** Polls `cond` every 20 ms until it is true or `ms` pass; returns whether it became true. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await Bun.sleep(20);
  }
  return cond();
}

export type { Subprocess };
