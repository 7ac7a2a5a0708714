// Oversized WebSocket messages against a real `kubeport start` with default limits: refused with
// 1009 on the frame header, nothing of them reaches the cluster, and the gateway's memory stays put.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { MiB, memoryOf, rawWs, startWsUpstream, until, type WsUpstream } from "../helpers/ws-attack.ts";

let up: WsUpstream;
let gw: GatewayProcess;
const EXEC = "/v1/clusters/up/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true";

beforeAll(async () => {
  up = await startWsUpstream();
  gw = await startGatewayProcess({ upstream: up });
}, 90_000);
afterAll(async () => {
  await gw?.remove();
  await up?.close();
});

describe("WebSocket message size (default proxy_service.limits)", () => {
  test("12 sessions each sending one 60 MiB frame: each closed with 1009, none of it upstream, RSS bounded", async () => {
    const before = memoryOf(gw.pid);
    const sessions = await Promise.all(
      Array.from({ length: 12 }, () => rawWs(gw.url, EXEC, { token: gw.token, ca: gw.caPem })),
    );
    for (const s of sessions) expect(s.status).toBe(101);
    expect(await until(() => up.conns.length >= 12)).toBe(true);
    await Promise.all(sessions.map((s) => s.send({ length: 60 * MiB })));
    const codes = await Promise.all(sessions.map((s) => s.closed));
    expect(codes).toEqual(Array(12).fill(1009));
    // The upstream leg of each session is closed too, having received nothing.
    expect(await until(() => up.conns.every((c) => c.closed))).toBe(true);
    expect(up.conns.map((c) => c.bytes)).toEqual(Array(12).fill(0));
    const after = memoryOf(gw.pid);
    // Before the limit: 60 MiB read and relayed per session (RSS 104 → 1,348 MiB in the report).
    expect(after.peak - before.rss).toBeLessThan(150);
    console.log(`gateway RSS ${before.rss} MiB before, ${after.rss} MiB after, peak ${after.peak} MiB`);
  }, 120_000);

  test("a message split into many fragments is measured whole: 20 fragments of 1 MiB close with 1009", async () => {
    const n = up.conns.length;
    const s = await rawWs(gw.url, EXEC, { token: gw.token, ca: gw.caPem });
    expect(s.status).toBe(101);
    expect(await until(() => up.conns.length > n)).toBe(true);
    for (let i = 0; i < 20 && s.closeCode() === undefined; i++)
      await s.send({ length: MiB, op: i === 0 ? 2 : 0, fin: false });
    expect(await s.closed).toBe(1009);
    expect(up.conns[n]!.messages).toBe(0);
  }, 60_000);

  test("a normal exec stream of 32 KiB frames passes untouched", async () => {
    const n = up.conns.length;
    const s = await rawWs(gw.url, EXEC, { token: gw.token, ca: gw.caPem });
    expect(s.status).toBe(101);
    expect(await until(() => up.conns.length > n)).toBe(true);
    const conn = () => up.conns[n]!;
    for (let i = 0; i < 64; i++) await s.send({ length: 32 * 1024 + 1 });
    expect(await until(() => conn().messages === 64)).toBe(true);
    expect(conn().bytes).toBe(64 * (32 * 1024 + 1));
    expect(s.closeCode()).toBeUndefined();
    s.end();
  }, 60_000);
});
