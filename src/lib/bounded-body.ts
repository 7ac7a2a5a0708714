// The one way the gateway reads a request body it consumes itself (sign-in JSON, console forms, a
// create's object): chunk by chunk, stopping at a limit. Content-Length alone proves nothing — a
// chunked body has none, and Request.text()/arrayBuffer() would hold all of it (up to Bun's
// maxRequestBodySize) before anyone could look at its size.
import { BodyTooLarge } from "./errors.ts";

/**
 * The body's bytes, at most `limit` of them. Throws BodyTooLarge (413, naming the limit and `why` it is one)
 * as soon as the declared length or the bytes read pass it; the rest is never read.
 */
export async function readBoundedBody(
  req: Request,
  limit: number,
  why: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(req.headers.get("content-length") ?? 0);
  if (declared > limit) {
    // Nothing of it is read; cancelling tells Bun the handler will not want it.
    void req.body?.cancel().catch(() => {});
    throw new BodyTooLarge(limit, why);
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      void reader.cancel().catch(() => {});
      throw new BodyTooLarge(limit, why);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The body as UTF-8 text, read as readBoundedBody reads it. */
export async function readBoundedText(req: Request, limit: number, why: string): Promise<string> {
  return new TextDecoder().decode(await readBoundedBody(req, limit, why));
}
