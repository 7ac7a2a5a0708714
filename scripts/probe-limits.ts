// The two issue-10 §5 attacks against a real `kubeport start`, with the figures the closing note
// asks for: gateway RSS while 12 sessions each send one 60 MiB WebSocket frame, and the gateway's
// log lines while 5,000 requests carry a crafted token (alg EdDSA with a real kid).
//
//   bun scripts/probe-limits.ts                   # this checkout, default limits
//   bun scripts/probe-limits.ts --root DIR        # another checkout (e.g. `git archive` of an older main)
//   bun scripts/probe-limits.ts --high-rate       # unauthenticated_rate raised so all 5,000 reach authentication
import { mapLimit } from "../src/lib/pool.ts";
import { startGatewayProcess } from "../test/helpers/gateway-process.ts";
import { MiB, memoryOf, rawWs, startWsUpstream, until } from "../test/helpers/ws-attack.ts";

const args = process.argv.slice(2);
const root = args.includes("--root") ? args[args.indexOf("--root") + 1] : undefined;
const highRate = args.includes("--high-rate");
const EXEC = "/v1/clusters/up/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true";

async function frames() {
  const up = await startWsUpstream();
  const gw = await startGatewayProcess({ upstream: up, ...(root ? { root } : {}) });
  try {
    await Bun.sleep(1000);
    const before = memoryOf(gw.pid);
    const sessions = await Promise.all(
      Array.from({ length: 12 }, () => rawWs(gw.url, EXEC, { token: gw.token, ca: gw.caPem })),
    );
    await until(() => up.conns.length >= 12, 20_000);
    let peak = before.peak;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, memoryOf(gw.pid).rss);
      } catch {
        // the process is gone
      }
    }, 20);
    await Promise.all(sessions.map((s) => s.send({ length: 60 * MiB })));
    const codes = await Promise.race([
      Promise.all(sessions.map((s) => s.closed)),
      Bun.sleep(30_000).then(() => sessions.map((s) => s.closeCode() ?? "open")),
    ]);
    await until(() => up.conns.every((c) => c.messages > 0 || c.closed), 30_000);
    clearInterval(sampler);
    let after: { rss: number; peak: number } | string;
    try {
      after = memoryOf(gw.pid);
    } catch {
      after = "process gone";
    }
    const reached = up.conns.reduce((n, c) => n + c.bytes, 0);
    console.log(
      JSON.stringify({
        attack: "12 sessions x one 60 MiB frame",
        rss_before_mib: before.rss,
        rss_after: after,
        rss_peak_mib: typeof after === "string" ? peak : Math.max(peak, after.peak),
        client_close_codes: [...new Set(codes)],
        bytes_reaching_upstream_mib: Math.round(reached / MiB),
      }),
    );
    for (const s of sessions) s.end();
  } finally {
    await gw.remove();
    await up.close();
  }
}

async function craftedTokens() {
  const up = await startWsUpstream();
  const gw = await startGatewayProcess({
    upstream: up,
    ...(root ? { root } : {}),
    ...(highRate
      ? { proxyYaml: "  limits:\n    unauthenticated_rate: { average: 1000000, burst: 1000000 }\n" }
      : {}),
  });
  try {
    const b64 = (x: unknown) => Buffer.from(JSON.stringify(x)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const token = [
      b64({ alg: "EdDSA", kid: gw.kid, typ: "JWT" }),
      b64({ iss: "https://localhost:3080", aud: "kubeport", sub: "alice", iat: now, exp: now + 600 }),
      Buffer.alloc(64, 7).toString("base64url"),
    ].join(".");
    const linesBefore = gw.logs().length;
    const statuses: Record<number, number> = {};
    const t0 = performance.now();
    await mapLimit(Array.from({ length: 5000 }), 16, async () => {
      const res = await fetch(`${gw.url}/v1/clusters/up/api/v1/pods`, {
        headers: { authorization: `Bearer ${token}` },
        tls: { ca: gw.caPem },
      } as RequestInit);
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    });
    const seconds = (performance.now() - t0) / 1000;
    const during = gw.logs().length - linesBefore;
    await gw.stop();
    const REQUEST_LINES = new Set(["token refused", "gateway request failed", "request over a limit"]);
    const requestLines = gw
      .logs()
      .slice(linesBefore)
      .filter((l) => REQUEST_LINES.has(l.msg));
    console.log(
      JSON.stringify({
        attack: "5,000 requests, alg EdDSA with a real kid",
        statuses,
        requests_per_s: Math.round(5000 / seconds),
        log_lines_during: during,
        request_log_lines_through_shutdown: requestLines.length,
      }),
    );
  } finally {
    await gw.remove();
    await up.close();
  }
}

await frames();
await craftedTokens();
