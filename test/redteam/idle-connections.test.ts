// Red team (issue 10), one client exhausting the gateway, unauthenticated: proxy_service.limits
// counts requests, never connections. One address may open any number of TLS connections, send one
// `GET /healthz` on each (never limited, never charged) and then nothing: the gateway keeps every one
// alive for idleTimeout (120 s) at a file descriptor each (and ~4 KB of RSS: 800 took 3 MiB). When the
// process runs out of descriptors nobody else gets in. (Half a request head works too, for Bun's
// ~10 s header limit.) Here the gateway runs with RLIMIT_NOFILE 1200 (prlimit; production limits are
// higher, and so is what an IPv6 /64 can open); one address holds 1,300 connections, and another
// client's request from 127.0.0.2 gets no answer for as long as they are held (40 s measured).
//
// Fixed (limits/connections.ts): a connection is counted per address from its first request, and an
// address holding proxy_service.limits.max_connections_per_address (512) gets every answer on a further
// connection with `Connection: close` — Bun closes it once answered. What is guaranteed, and asserted
// here: after one request each, the attacker keeps at most the cap; the others are closed by the
// gateway. Not guaranteed (README, Security): connections that never finish a request (TLS only, or
// half a head) are invisible to the count until Bun's timeouts close them.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect, type TLSSocket } from "node:tls";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { type RecordingUpstream, startRecordingUpstream } from "./harness.ts";

const FD_LIMIT = 1200;
const ATTACK = 1300;
/** proxy_service.limits.max_connections_per_address's default. */
const CAP = 512;

let up: RecordingUpstream;
let gw: GatewayProcess;
const held: TLSSocket[] = [];
/** Attacker connections the gateway closed, and how many of their answers said `Connection: close`. */
let closed = 0;
let closeAnswers = 0;

beforeAll(async () => {
  up = await startRecordingUpstream();
  gw = await startGatewayProcess({ upstream: { url: up.url, caPem: up.caPem } });
  const p = Bun.spawnSync(["prlimit", "--pid", String(gw.pid), `--nofile=${FD_LIMIT}:${FD_LIMIT}`]);
  expect(p.exitCode).toBe(0);
}, 60_000);

afterAll(async () => {
  for (const s of held) s.destroy();
  await gw?.remove();
  await up?.close();
});

/** One raw HTTPS request from `localAddress`; resolves with the status line, or "" when none came. */
function request(localAddress: string, path: string, token: string, ms: number): Promise<string> {
  const u = new URL(gw.url);
  return new Promise((resolve) => {
    let out = "";
    const s = connect(
      // localAddress: a second client address on the loopback interface.
      {
        host: u.hostname,
        port: Number(u.port),
        localAddress,
        ca: gw.caPem,
        servername: "localhost",
      } as never,
      () =>
        s.write(
          `GET ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
        ),
    );
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(out.split("\r\n")[0] ?? "");
    };
    const timer = setTimeout(done, ms);
    s.on("data", (d) => {
      out += d.toString();
      if (out.includes("\r\n")) done();
    });
    s.on("error", done);
    s.on("close", done);
  });
}

test(`one address holding ${ATTACK} idle connections does not lock another client out`, async () => {
  expect(await request("127.0.0.2", "/v1/clusters/up/version", gw.token, 10_000)).toBe("HTTP/1.1 200 OK");
  const u = new URL(gw.url);
  // The attacker (127.0.0.1): connect, one request, then keep the connection.
  await Promise.all(
    Array.from(
      { length: ATTACK },
      () =>
        new Promise<void>((resolve) => {
          const s = connect(
            { host: u.hostname, port: Number(u.port), ca: gw.caPem, servername: "localhost" },
            () => {
              // A whole request to /healthz (never limited), then nothing: a kept-alive connection.
              s.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
              resolve();
            },
          );
          let head = "";
          s.on("data", (d) => {
            head += d.toString();
            if (/\r\nconnection: close\r\n/i.test(head) && head.includes("\r\n\r\n")) {
              closeAnswers++;
              head = "";
            }
          });
          s.on("close", () => closed++);
          s.on("error", () => resolve());
          setTimeout(resolve, 3_000);
          held.push(s);
        }),
    ),
  );
  // Past Bun's ~10 s limit on an unfinished request head: these connections finished their request.
  await Bun.sleep(12_000);
  expect(await request("127.0.0.2", "/v1/clusters/up/version", gw.token, 10_000)).toBe("HTTP/1.1 200 OK");
  // What the cap guarantees: the attacker keeps at most CAP of its connections; the gateway closed
  // the rest after answering them with Connection: close.
  const stillOpen = held.filter((s) => !s.destroyed && s.readyState === "open").length;
  expect({ stillOpen: stillOpen <= CAP ? "at most the cap" : stillOpen }).toEqual({
    stillOpen: "at most the cap",
  });
  expect(closed).toBeGreaterThanOrEqual(ATTACK - CAP);
  expect(closeAnswers).toBeGreaterThanOrEqual(ATTACK - CAP);
}, 120_000);
