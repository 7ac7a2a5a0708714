// A raw TLS stand-in for an API server that records the exact bytes of every request head the
// gateway sent (what Go's net/http in kube-apiserver would parse: leading spaces, UTF-8 or Latin-1
// bytes, repeated lines), answers `200 {}` with a Content-Length, and keeps a chunked body open for
// the requests a test calls streams (a watch, `logs -f` or a pod proxy as the API server serves them).
// Loopback only, port 0.
import type { Socket } from "bun";
import { tlsCert } from "./tls-upstream.ts";

export interface RawHead {
  /** The request line, e.g. `GET /api/v1/pods?watch=true HTTP/1.1`. */
  line: string;
  /** The head's bytes up to the blank line. */
  bytes: Buffer;
  /** Every line of `name` (case-insensitive), its value as raw bytes decoded as UTF-8, leading spaces kept. */
  header(name: string): string[];
}

export interface RawUpstream {
  url: string;
  caPem: string;
  heads: RawHead[];
  /** Heads whose request line contains `marker`. */
  headsWith(marker: string): RawHead[];
  /** Streams still open upstream (a response body the gateway has not closed). */
  open(): number;
  /** Writes one line (a watch event) to every open stream. */
  emit(line: string): void;
  close(): void;
}

interface Conn {
  buf: Buffer;
}

const SIZED = '{"kind":"Status","apiVersion":"v1","status":"Success"}';

/** `isStream(head)`: answer with a chunked body that stays open, first event included. */
export async function startRawUpstream(
  isStream: (head: RawHead) => boolean = () => false,
): Promise<RawUpstream> {
  const cert = await tlsCert("raw-upstream");
  const heads: RawHead[] = [];
  const streams = new Set<Socket<Conn>>();
  const chunk = (line: string) => `${Buffer.byteLength(line).toString(16)}\r\n${line}\r\n`;
  const server = Bun.listen<Conn>({
    hostname: "127.0.0.1",
    port: 0,
    tls: cert.tls,
    socket: {
      open(s) {
        s.data = { buf: Buffer.alloc(0) };
      },
      data(s, data) {
        s.data.buf = Buffer.concat([s.data.buf, data]);
        for (;;) {
          const end = s.data.buf.indexOf("\r\n\r\n");
          if (end < 0) return;
          const head = parseHead(s.data.buf.subarray(0, end));
          s.data.buf = s.data.buf.subarray(end + 4);
          heads.push(head);
          if (isStream(head)) {
            streams.add(s);
            s.write(
              "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n" +
                chunk('{"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"first"}}}\n'),
            );
          } else
            s.write(
              `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${SIZED.length}\r\n\r\n${SIZED}`,
            );
        }
      },
      close(s) {
        streams.delete(s);
      },
      error(s) {
        streams.delete(s);
      },
    },
  });
  return {
    url: `https://127.0.0.1:${server.port}`,
    caPem: cert.caPem,
    heads,
    headsWith: (marker) => heads.filter((h) => h.line.includes(marker)),
    open: () => streams.size,
    emit(line) {
      for (const s of streams) s.write(chunk(`${line}\n`));
    },
    close: () => server.stop(true),
  };
}

function parseHead(bytes: Buffer): RawHead {
  const lines = splitLines(bytes);
  return {
    line: lines[0]?.toString("latin1") ?? "",
    bytes: Buffer.from(bytes),
    header(name) {
      const want = `${name.toLowerCase()}:`;
      return lines
        .slice(1)
        .filter((l) => l.subarray(0, want.length).toString("latin1").toLowerCase() === want)
        .map((l) => l.subarray(want.length).toString("utf8"));
    },
  };
}

function splitLines(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (;;) {
    const at = bytes.indexOf("\r\n", from);
    if (at < 0) {
      out.push(bytes.subarray(from));
      return out;
    }
    out.push(bytes.subarray(from, at));
    from = at + 2;
  }
}
