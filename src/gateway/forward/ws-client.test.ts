import { afterAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import type { Socket } from "bun";
import { startTlsUpstream } from "../../../test/helpers/tls-upstream.ts";
import { connectWs, UpgradeRefused } from "./ws-client.ts";

const server = Bun.serve<string>({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req, srv) {
    if (new URL(req.url).pathname === "/refuse") {
      return Response.json({ kind: "Status", code: 403, message: "nope" }, { status: 403 });
    }
    const seen = new URL(req.url).pathname === "/burst" ? "burst" : (req.headers.get("x-multi") ?? "");
    return srv.upgrade(req, {
      data: seen,
      headers: new Headers({ "Sec-WebSocket-Protocol": "v5.channel.k8s.io" }),
    })
      ? undefined
      : new Response("no", { status: 400 });
  },
  websocket: {
    open(ws) {
      // "/burst": answer and close at once, so frames ride in the same packet as the 101.
      if (ws.data === "burst") {
        ws.send(new Uint8Array([1, 104, 105]));
        ws.close(1000, "bye");
      }
    },
    message(ws, m) {
      if (m === "headers") ws.send(String(ws.data));
      else if (m === "close") ws.close(4002, "done");
      else ws.send(m);
    },
  },
});
afterAll(() => server.stop(true));
const url = (p: string) => `ws://127.0.0.1:${server.port}${p}`;

/** A bare socket server that accepts the WebSocket upgrade, then leaves the wire to `upgraded`. */
function rawWsServer(upgraded: (s: Socket<undefined>) => unknown) {
  return Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(s, d) {
        const key = /Sec-WebSocket-Key: (.+)\r\n/.exec(d.toString())?.[1];
        if (!key) return;
        const accept = createHash("sha1")
          .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
          .digest("base64");
        s.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        void upgraded(s);
      },
    },
  });
}

test("echoes text and binary of every size with boundaries kept, and reports the close code", async () => {
  const c = await connectWs({
    url: url("/x"),
    headers: [["X-Multi", "a"]],
    protocols: ["v5.channel.k8s.io"],
  });
  expect(c.protocol).toBe("v5.channel.k8s.io");
  const got: (string | Uint8Array)[] = [];
  const closed = new Promise<[number, string]>((r) => (c.onClose = (code, reason) => r([code, reason])));
  c.onMessage = (d) => got.push(d);
  c.start();
  const sizes = [0, 1, 3, 125, 126, 65535, 65536, 200_001];
  for (const n of sizes) c.send(Uint8Array.from({ length: n }, (_, i) => (i * 7) & 255));
  c.send("héllo");
  for (let i = 0; i < 200 && got.length < sizes.length + 1; i++) await Bun.sleep(10);
  expect(got.slice(0, sizes.length).map((d) => (d as Uint8Array).length)).toEqual(sizes);
  expect((got[6] as Uint8Array)[65535]).toBe((65535 * 7) & 255);
  expect(got.at(-1)).toBe("héllo");
  c.send("close");
  expect(await closed).toEqual([4002, "done"]);
});

test("a refusal carries the status and body", async () => {
  const err = await connectWs({ url: url("/refuse"), headers: [], protocols: ["v5.channel.k8s.io"] }).catch(
    (e) => e,
  );
  expect(err).toBeInstanceOf(UpgradeRefused);
  expect(err.status).toBe(403);
  expect(JSON.parse(err.body)).toMatchObject({ kind: "Status", message: "nope" });
});

test("header values with line breaks are refused before anything is sent", async () => {
  await expect(
    connectWs({ url: url("/x"), headers: [["X", "a\r\nInjected: 1"]], protocols: [] }),
  ).rejects.toThrow("invalid header");
});

test("holds frames and the close that arrive with the 101 until start()", async () => {
  const c = await connectWs({ url: url("/burst"), headers: [], protocols: ["v5.channel.k8s.io"] });
  await Bun.sleep(50); // let the burst land before any handler exists
  const got: (string | Uint8Array)[] = [];
  const closed = new Promise<[number, string]>((r) => (c.onClose = (code, reason) => r([code, reason])));
  c.onMessage = (d) => got.push(d);
  c.start();
  expect(await closed).toEqual([1000, "bye"]);
  expect(got).toEqual([new Uint8Array([1, 104, 105])]);
});

test("frames split across chunks at every byte, empty payloads and a bare close are read whole", async () => {
  const frame = (op: number, payload: number[]) => {
    const n = payload.length;
    const head = n < 126 ? [0x80 | op, n] : [0x80 | op, 126, n >> 8, n & 255];
    return [...head, ...payload];
  };
  const big = Array.from({ length: 300 }, (_, i) => i & 255);
  const stream = [
    ...frame(0x2, [1, 2, 3]),
    ...frame(0x2, []),
    ...frame(0x9, [7]), // a ping in between: answered, not delivered
    ...frame(0x2, big),
    ...frame(0x1, [...Buffer.from("ok")]),
    ...frame(0x8, []), // close without a code
  ];
  const raw = rawWsServer(async (s) => {
    for (const b of stream) {
      s.write(new Uint8Array([b]));
      s.flush();
      await Bun.sleep(0);
    }
  });
  try {
    const c = await connectWs({ url: `ws://127.0.0.1:${raw.port}/`, headers: [], protocols: [] });
    const got: (string | number[])[] = [];
    const closed = new Promise<[number, string]>((r) => (c.onClose = (code, reason) => r([code, reason])));
    c.onMessage = (d) => got.push(typeof d === "string" ? d : [...d]);
    c.start();
    expect(await closed).toEqual([1005, ""]);
    expect(got).toEqual([[1, 2, 3], [], big, "ok"]);
  } finally {
    raw.stop(true);
  }
});

test("over TLS, messages handed over stay whole after later chunks arrive (they are views of the socket's chunks), and payloads sent from any offset of their buffer arrive intact", async () => {
  // Each message filled with its own index: a chunk's memory reused for a later one would show.
  const count = 600;
  const size = 32 * 1024 + 1;
  const echoed: Uint8Array[] = [];
  const tls = await startTlsUpstream({
    fetch: (req, srv) =>
      srv.upgrade(req, { data: undefined }) ? undefined : new Response("no", { status: 400 }),
    websocket: {
      open(ws) {
        for (let i = 0; i < count; i++) ws.send(new Uint8Array(size).fill(i & 255));
      },
      message(ws, m) {
        echoed.push(new Uint8Array(m as Buffer));
        ws.send(m);
      },
    },
  });
  try {
    const c = await connectWs({
      url: `wss://127.0.0.1:${tls.port}/`,
      headers: [],
      protocols: [],
      ca: tls.caPem,
    });
    const got: Uint8Array[] = [];
    c.onMessage = (d) => got.push(d as Uint8Array);
    c.start();
    for (let i = 0; i < 3000 && got.length < count; i++) await Bun.sleep(10);
    expect(got.length).toBe(count);
    const wrong = got.findIndex((m, i) => m.length !== size || m.some((b) => b !== (i & 255)));
    expect(wrong).toBe(-1);

    // Views at every offset 0..67 of one buffer (the send buffer places each by its offset).
    const pool = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 13) & 255);
    const sent = Array.from({ length: 68 }, (_, off) => pool.subarray(off, off + 1000 + off * 501));
    for (const s of sent) c.send(s);
    for (let i = 0; i < 3000 && echoed.length < sent.length; i++) await Bun.sleep(10);
    expect(echoed.map((e) => Buffer.from(e).toString("hex"))).toEqual(
      sent.map((s) => Buffer.from(s).toString("hex")),
    );
    c.close();
  } finally {
    await tls.stop();
  }
});

test("pause() on a message holds the rest of its chunk, whole-in-chunk and copied frames alike, until resume()", async () => {
  const frame = (payload: number[], mask?: number[]) => [
    0x82,
    (mask ? 0x80 : 0) | payload.length,
    ...(mask ?? []),
    ...payload.map((b, i) => (mask ? b ^ mask[i & 3]! : b)),
  ];
  // One write: three frames read as views of the chunk, a masked one (always copied, then unmasked),
  // one more, and the close.
  const burst = [
    ...frame([1]),
    ...frame([2, 2]),
    ...frame([3, 3, 3]),
    ...frame([4, 4, 4, 4, 4], [0x11, 0x22, 0x33, 0x44]),
    ...frame([5]),
    0x88,
    2,
    0x03,
    0xe8,
  ];
  const raw = rawWsServer((s) => s.write(new Uint8Array(burst)));
  try {
    const c = await connectWs({ url: `ws://127.0.0.1:${raw.port}/`, headers: [], protocols: [] });
    const got: number[][] = [];
    let paused = false;
    let whilePaused = 0;
    const closed = new Promise<number>((r) => (c.onClose = (code) => r(code)));
    c.onMessage = (d) => {
      if (paused) whilePaused++;
      got.push([...(d as Uint8Array)]);
      paused = true;
      c.pause();
      setTimeout(() => {
        paused = false;
        c.resume();
      }, 5);
    };
    c.start();
    expect(await closed).toBe(1000);
    expect(whilePaused).toBe(0);
    expect(got).toEqual([[1], [2, 2], [3, 3, 3], [4, 4, 4, 4, 4], [5]]);
  } finally {
    raw.stop(true);
  }
});
