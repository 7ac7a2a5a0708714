// Red team 4 (issue 15's exec relay work): upstream's WebSocket messages are handed to the client as
// views of the socket's chunk (no copy), held as views while the client is slow, and written to the
// client corked. If a chunk's memory were reused by a later read, or a held view delivered out of
// order, one session's bytes would show up in another's stream or in the wrong place. Three exec
// sessions at once through a real `kubeport start`, each upstream message stamped with its
// connection and sequence (small, 32 KiB+ and 64 KiB+ messages: one TLS read holds many, or one
// message spans reads), one client not reading for a while: every client gets exactly its own
// messages, in order, intact. No finding: passes on main as of f50f210.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { rawWs, startWsUpstream, until, type WsUpstream } from "../helpers/ws-attack.ts";

let up: WsUpstream;
let gw: GatewayProcess;
const exec = (send: number, size: number) =>
  `/v1/clusters/up/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true&stdout=true&send=${send}&size=${size}`;

beforeAll(async () => {
  up = await startWsUpstream();
  gw = await startGatewayProcess({ upstream: up });
}, 90_000);
afterAll(async () => {
  await gw?.remove();
  await up?.close();
});

test("concurrent exec streams: each client gets only its own upstream messages, whole and in order", async () => {
  const COUNT = 300;
  const sizes = [33_000, 90, 70_001];
  // The slow one first: its upstream messages are held (paused) while the others stream.
  const slow = await rawWs(gw.url, exec(COUNT, sizes[0]!), { token: gw.token, ca: gw.caPem });
  slow.pause();
  const others = await Promise.all(
    sizes.slice(1).map((s) => rawWs(gw.url, exec(COUNT, s), { token: gw.token, ca: gw.caPem })),
  );
  const sessions = [slow, ...others];
  for (const s of sessions) expect(s.status).toBe(101);
  const data = (i: number) => sessions[i]!.frames.filter((f) => f.op === 2);
  expect(await until(() => data(1).length >= COUNT && data(2).length >= COUNT, 60_000)).toBe(true);
  slow.resume();
  expect(await until(() => data(0).length >= COUNT, 60_000)).toBe(true);

  const ids = new Set<number>();
  sessions.forEach((_, i) => {
    const frames = data(i);
    const id = frames[0]!.payload.readUInt32BE(0);
    ids.add(id);
    const wrong = frames.findIndex(
      (f, seq) =>
        f.payload.length !== sizes[i] ||
        f.payload.readUInt32BE(0) !== id ||
        f.payload.readUInt32BE(4) !== seq ||
        f.payload.subarray(8).some((b) => b !== 0x62),
    );
    expect({ session: i, frames: frames.length, wrong }).toEqual({ session: i, frames: COUNT, wrong: -1 });
  });
  expect(ids.size).toBe(3);
  for (const s of sessions) s.end();
}, 120_000);
