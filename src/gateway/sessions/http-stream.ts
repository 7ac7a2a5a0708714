// A streamed HTTP response (watch, logs -f) that the revoker can end: a JSON watch gets an ERROR
// event carrying the Status (client-go hands it to kubectl as the error), every stream then ends
// cleanly and the upstream request is cancelled.
import { type KubeStatus, kubeStatus } from "../status.ts";
import type { Revocation } from "./access-check.ts";

export interface RevocableBody {
  body: ReadableStream<Uint8Array>;
  /**
   * Ends the stream now (idempotent): for a JSON watch, after one ERROR event with `status`; with
   * `clean`, a plain end of stream (the client watches again).
   */
  end(status: KubeStatus, opts?: { clean?: boolean }): void;
}

const NEWLINE = 10;
const enc = new TextEncoder();

/** The Status a client is shown for a revocation. */
export const revocationStatus = (r: Revocation): KubeStatus => kubeStatus(r.code, r.message);

/** A watch event line: `{"type":"ERROR","object":<Status>}` and a newline, as the API server writes one. */
export const errorEvent = (status: KubeStatus): Uint8Array =>
  enc.encode(`${JSON.stringify({ type: "ERROR", object: status })}\n`);

/**
 * Relays `upstream` chunk for chunk. With `jsonWatch`, bytes after the last newline of a chunk are
 * held until their event is complete, so an injected ERROR event never lands inside another one (an
 * API server writes whole events; holding back is rare). `onClose` runs once, however it ends.
 */
export function revocableBody(
  upstream: ReadableStream<Uint8Array>,
  { jsonWatch, onClose }: { jsonWatch: boolean; onClose?: () => void },
): RevocableBody {
  const reader = upstream.getReader();
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let done = false;
  let partial: Uint8Array | undefined;
  const finish = () => {
    if (done) return false;
    done = true;
    onClose?.();
    return true;
  };

  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      async pull(c) {
        for (;;) {
          let next: Awaited<ReturnType<typeof reader.read>>;
          try {
            next = await reader.read();
          } catch (err) {
            if (finish()) c.error(err);
            return;
          }
          if (done) return; // ended while waiting for upstream
          if (next.done) {
            if (partial) c.enqueue(partial);
            finish();
            c.close();
            return;
          }
          let chunk = next.value;
          if (jsonWatch) {
            if (partial) {
              const joined = new Uint8Array(partial.length + chunk.length);
              joined.set(partial);
              joined.set(chunk, partial.length);
              chunk = joined;
              partial = undefined;
            }
            const last = chunk.lastIndexOf(NEWLINE);
            if (last !== chunk.length - 1) {
              partial = chunk.slice(last + 1);
              chunk = chunk.subarray(0, last + 1);
            }
            if (chunk.length === 0) continue;
          }
          c.enqueue(chunk);
          return;
        }
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );

  return {
    body,
    end(status, opts) {
      if (!finish()) return;
      try {
        if (jsonWatch && !opts?.clean) controller?.enqueue(errorEvent(status));
        controller?.close();
      } catch {
        // the client went away at the same moment
      }
      reader.cancel(status.message).catch(() => {});
    },
  };
}
