// HTTP written by hand for attack-shaped gateway tests: a request head sent byte for byte over TLS
// (no client library to normalise its header names, spellings or order), and what upstream received
// for a request a test marked.
import { connect } from "node:tls";
import type { TestGateway, Upstream } from "./fixture.ts";

/**
 * Sends `head` (request line + header lines, CRLF-separated, no final blank line) verbatim to `gw`
 * over TLS, so nothing normalises it on the way, and returns the response's status code and body.
 */
export function rawRequest(gw: TestGateway, head: string): Promise<{ status: number; body: string }> {
  const port = Number(new URL(gw.gateway.url).port);
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, ca: gw.gateway.caPem, servername: "localhost" }, () =>
      s.write(`${head}\r\n\r\n`),
    );
    let out = Buffer.alloc(0);
    const done = () => {
      const end = out.indexOf("\r\n\r\n");
      const h = out.subarray(0, end < 0 ? out.length : end).toString();
      const length = /\r\ncontent-length: *(\d+)/i.exec(h)?.[1];
      if (end < 0 || length === undefined || out.length < end + 4 + Number(length)) return false;
      s.destroy();
      resolve({ status: Number(h.slice(9, 12)), body: out.subarray(end + 4).toString() });
      return true;
    };
    s.on("data", (d: Buffer) => {
      out = Buffer.concat([out, d]);
      done();
    });
    s.on(
      "end",
      () => done() || resolve({ status: Number(out.subarray(9, 12).toString()), body: out.toString() }),
    );
    s.on("error", reject);
  });
}

/** Upstream requests whose target contains `marker` (each test marks its own). */
export const arrived = (up: Upstream, marker: string) => up.requests.filter((q) => q.target.includes(marker));

/** Every header line upstream saw for `marker`, as "name: value". */
export const headerLines = (up: Upstream, marker: string) =>
  arrived(up, marker).flatMap((q) => [...q.headers].map(([n, v]) => `${n}: ${v}`));
