// WebSocket backpressure through the real gateway with small configured caps: a side that does not
// read makes the gateway stop reading the other side; the bytes it holds stay under the caps for
// every session together; nothing is dropped or reordered once the slow side reads again.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PRESSURE_SHARE } from "../../src/gateway/limits/index.ts";
import { MiB, type RawWs, rawWs, startWsUpstream, until, type WsUpstream } from "../helpers/ws-attack.ts";
import { cluster, startTestGateway, type TestGateway } from "./fixture.ts";

const PER_SESSION = 2 * MiB;
const TOTAL = 2 * MiB;
const MESSAGE = 1 * MiB;

let up: WsUpstream;
let gw: TestGateway;

beforeAll(async () => {
  up = await startWsUpstream();
  gw = await startTestGateway({
    clusters: [cluster("up", up.url, up.caPem, { env: "dev" })],
    proxyYaml: `  limits:
    ws_max_message_bytes: ${MESSAGE}
    ws_max_buffered_bytes_per_session: ${PER_SESSION}
    ws_max_buffered_bytes_total: ${TOTAL}
`,
  });
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

const exec = (query = "") =>
  `/v1/clusters/up/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true&stdout=true${query}`;
const open = async (query = ""): Promise<RawWs> => {
  const s = await rawWs(gw.gateway.url, exec(query), { token: "alice-token", ca: gw.gateway.caPem! });
  expect(s.status).toBe(101);
  return s;
};
const held = () => gw.metric("kubeport_gateway_ws_buffered_bytes");
const paused = () => gw.metric("kubeport_gateway_limited_total", { limit: "ws_paused" });

/** Samples what the gateway holds every 5 ms while `during` runs; returns the largest value seen. */
async function peakWhile(during: () => Promise<unknown>): Promise<number> {
  let peak = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      peak = Math.max(peak, await held());
      await Bun.sleep(5);
    }
  })();
  try {
    await during();
  } finally {
    done = true;
    await sampler;
  }
  return peak;
}

/**
 * The bound the caps promise: the total, plus per session its share under pressure, the message
 * that crossed it and what Bun had already read from the socket when it was paused (it still
 * delivers those messages: at most one read, 512 KiB). Per-session caps alone would allow
 * sessions × PER_SESSION and more.
 */
const bound = (sessions: number, message: number) =>
  TOTAL + sessions * (PRESSURE_SHARE + message + FRAMING + READ);
/** A frame's header and mask, counted with the message it carries. */
const FRAMING = 14;
const READ = 512 * 1024;

describe("WebSocket backpressure (proxy_service.limits)", () => {
  test("eight clients writing 16 MiB each to a cluster that does not read: the gateway holds at most the total cap, then relays all in order", async () => {
    const SESSIONS = 8;
    const FRAMES = 64;
    const SIZE = 256 * 1024;
    const first = up.conns.length;
    const pausedBefore = await paused();
    const clients = await Promise.all(Array.from({ length: SESSIONS }, () => open("&paused=1")));
    expect(await until(() => up.conns.length >= first + SESSIONS)).toBe(true);
    const writes = clients.map(async (c, i) => {
      for (let seq = 0; seq < FRAMES; seq++) {
        const m = new Uint8Array(SIZE).fill(0x63);
        new DataView(m.buffer).setUint32(0, i);
        new DataView(m.buffer).setUint32(4, seq);
        await c.send({ payload: m });
      }
    });
    let peak = 0;
    let reachedUpstream = -1;
    try {
      peak = await peakWhile(async () => {
        // Every session stops being read at least once; then the gateway holds steady while we watch.
        expect(await until(async () => (await paused()) - pausedBefore >= SESSIONS, 60_000)).toBe(true);
        await Bun.sleep(300);
      });
      reachedUpstream = up.conns.slice(first).reduce((n, c) => n + c.messages, 0);
    } finally {
      up.resumeAll();
    }
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(bound(SESSIONS, SIZE));
    // Nothing reached the cluster while it was not reading.
    expect(reachedUpstream).toBe(0);
    await Promise.all(writes);
    const conns = up.conns.slice(first);
    expect(await until(() => conns.every((c) => c.messages === FRAMES), 60_000)).toBe(true);
    for (const c of conns) {
      const id = c.heads[0]!.readUInt32BE(0);
      expect(c.heads.map((h) => [h.readUInt32BE(0), h.readUInt32BE(4)])).toEqual(
        Array.from({ length: FRAMES }, (_, seq) => [id, seq]),
      );
      expect(c.sizes.every((n) => n === SIZE)).toBe(true);
    }
    for (const c of clients) c.end();
    expect(await until(async () => (await held()) === 0)).toBe(true);
  }, 120_000);

  test("a client that stops reading while the cluster streams 30 MiB to it: the gateway stops reading the cluster, then delivers every frame", async () => {
    const SESSIONS = 2;
    const FRAMES = 40;
    const SIZE = 768 * 1024;
    const pausedBefore = await paused();
    const clients: RawWs[] = [];
    const peak = await peakWhile(async () => {
      for (let i = 0; i < SESSIONS; i++) {
        const c = await open(`&send=${FRAMES}&size=${SIZE}`);
        c.pause();
        clients.push(c);
      }
      expect(await until(async () => (await paused()) - pausedBefore >= SESSIONS, 60_000)).toBe(true);
      await Bun.sleep(300);
    });
    expect(peak).toBeLessThanOrEqual(bound(SESSIONS, SIZE));
    for (const c of clients) c.resume();
    expect(
      await until(() => clients.every((c) => c.frames.filter((f) => f.op === 2).length === FRAMES), 60_000),
    ).toBe(true);
    for (const c of clients) {
      const data = c.frames.filter((f) => f.op === 2);
      const id = data[0]!.payload.readUInt32BE(0);
      expect(
        data.map((f) => [f.payload.readUInt32BE(0), f.payload.readUInt32BE(4), f.payload.length]),
      ).toEqual(Array.from({ length: FRAMES }, (_, seq) => [id, seq, SIZE]));
      expect(c.closeCode()).toBeUndefined();
      c.end();
    }
  }, 120_000);

  test("a cluster message over ws_max_message_bytes closes the session with 1009 before it is read", async () => {
    const before = await gw.metric("kubeport_gateway_limited_total", { limit: "ws_message" });
    const c = await open(`&send=1&size=${2 * MESSAGE}`);
    expect(await c.closed).toBe(1009);
    expect(c.frames.filter((f) => f.op === 2)).toHaveLength(0);
    expect(await gw.metric("kubeport_gateway_limited_total", { limit: "ws_message" })).toBe(before + 1);
  });

  test("a client message over ws_max_message_bytes closes the session with 1009; one at the cap passes", async () => {
    const n = up.conns.length;
    const ok = await open();
    expect(await until(() => up.conns.length > n)).toBe(true);
    await ok.send({ length: MESSAGE });
    expect(await until(() => up.conns[n]!.messages === 1)).toBe(true);
    await ok.send({ length: MESSAGE + 1 });
    expect(await ok.closed).toBe(1009);
    expect(up.conns[n]!.sizes).toEqual([MESSAGE]);
  });
});
