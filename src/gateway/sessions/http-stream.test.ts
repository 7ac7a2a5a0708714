import { describe, expect, test } from "bun:test";
import { kubeStatus } from "../status.ts";
import { revocableBody } from "./http-stream.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An upstream body the test writes to, recording whether it was cancelled. */
function upstream() {
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  const state = { cancelled: undefined as unknown };
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      ctl = c;
    },
    cancel(reason) {
      state.cancelled = reason;
    },
  });
  return { body, write: (s: string) => ctl.enqueue(enc.encode(s)), close: () => ctl.close(), state };
}

async function readAll(body: ReadableStream<Uint8Array>): Promise<string[]> {
  const chunks: string[] = [];
  for await (const c of body) chunks.push(dec.decode(c));
  return chunks;
}

describe("revocableBody", () => {
  test("a JSON watch ends on an event boundary with an ERROR event, and upstream is cancelled", async () => {
    const up = upstream();
    let closes = 0;
    const s = revocableBody(up.body, { jsonWatch: true, onClose: () => closes++ });
    const reader = s.body.getReader();
    up.write('{"type":"ADDED","object":{"a":1}}\n{"type":"MOD');
    expect(dec.decode((await reader.read()).value)).toBe('{"type":"ADDED","object":{"a":1}}\n');
    s.end(kubeStatus(403, "kubeport: locked"));
    s.end(kubeStatus(403, "again"));
    const rest: string[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest.push(dec.decode(value));
    }
    // The half-written event is dropped; the client reads one complete ERROR event, then the end.
    expect(rest.map((l) => JSON.parse(l))).toEqual([
      {
        type: "ERROR",
        object: expect.objectContaining({ kind: "Status", code: 403, message: "kubeport: locked" }),
      },
    ]);
    expect(up.state.cancelled).toBe("kubeport: locked");
    expect(closes).toBe(1);
  });

  test("an event split across chunks reaches the client whole", async () => {
    const up = upstream();
    const s = revocableBody(up.body, { jsonWatch: true });
    up.write('{"type":"ADD');
    up.write('ED"}\n{"type":"DELETED"}\n');
    up.write("{}");
    up.close();
    expect(await readAll(s.body)).toEqual(['{"type":"ADDED"}\n{"type":"DELETED"}\n', "{}"]);
  });

  test("any other stream (logs -f) passes chunks as they come and just ends", async () => {
    const up = upstream();
    let closes = 0;
    const s = revocableBody(up.body, { jsonWatch: false, onClose: () => closes++ });
    const reader = s.body.getReader();
    up.write("line 1\nline");
    expect(dec.decode((await reader.read()).value)).toBe("line 1\nline");
    s.end(kubeStatus(401, "expired"));
    expect((await reader.read()).done).toBe(true);
    expect(up.state.cancelled).toBe("expired");
    expect(closes).toBe(1);
  });

  test("a client that goes away cancels upstream and reports the close once", async () => {
    const up = upstream();
    let closes = 0;
    const s = revocableBody(up.body, { jsonWatch: true, onClose: () => closes++ });
    await s.body.cancel("client gone");
    s.end(kubeStatus(403, "late"));
    expect(up.state.cancelled).toBe("client gone");
    expect(closes).toBe(1);
  });
});
