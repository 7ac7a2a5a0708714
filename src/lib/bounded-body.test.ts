import { expect, test } from "bun:test";
import { readBoundedBody, readBoundedText } from "./bounded-body.ts";
import { BodyTooLarge } from "./errors.ts";

/** A chunked (no Content-Length) request of `chunks` × 1 KiB; `pulled()` counts the chunks read from it. */
function chunked(chunks: number) {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled === chunks) return c.close();
      pulled++;
      c.enqueue(new Uint8Array(1024).fill(0x78));
    },
  });
  const req = new Request("http://x/v1/auth/login", { method: "POST", body });
  return { req, pulled: () => pulled };
}

test("reads a body under the limit whole", async () => {
  const { req } = chunked(3);
  expect((await readBoundedBody(req, 4096, "test")).byteLength).toBe(3072);
  expect(await readBoundedText(new Request("http://x/", { method: "POST", body: "{}" }), 10, "t")).toBe("{}");
});

test("a chunked body stops being read at the limit: 413 naming it", async () => {
  const { req, pulled } = chunked(100_000);
  const err = await readBoundedBody(req, 64 * 1024, "the most /v1/auth/login reads").catch((e) => e);
  expect(err).toBeInstanceOf(BodyTooLarge);
  expect(err.message).toBe("the request body is over 65536 bytes (the most /v1/auth/login reads)");
  // 64 KiB + the chunk that went over (+ what the stream queued ahead), never the 100 MB offered.
  expect(pulled()).toBeLessThan(70);
});

test("a declared Content-Length over the limit is refused unread", async () => {
  const req = new Request("http://x/", {
    method: "POST",
    body: "x".repeat(2000),
    headers: { "content-length": "2000" },
  });
  await expect(readBoundedBody(req, 1000, "t")).rejects.toBeInstanceOf(BodyTooLarge);
});
