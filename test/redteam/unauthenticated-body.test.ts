// Red team (issue 10), one client exhausting the gateway, unauthenticated: the sign-in routes refuse
// a body over 64 KiB (/v1/auth/login, /v1/auth/oidc) or 16 KiB (the console's forms) by its
// Content-Length, but a chunked body has none: it is read whole (up to Bun's default
// maxRequestBodySize, 128 MiB) and only then refused. Anyone can make `kubeport start` hold
// 128 MiB per request, 100 requests at once per address (unauthenticated_rate's burst).
// The same held for a restricted user's create (its object's name is read from the body, 3 MiB).
// Fixed: every body the gateway reads goes through lib/bounded-body.ts, which stops at the limit.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { connect } from "node:tls";
import { openSqliteBackend, type Resource } from "../../src/registry/index.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { memoryOf } from "../helpers/ws-attack.ts";
import { type RecordingUpstream, startRecordingUpstream, waitFor } from "./harness.ts";

const UPLOADS = 3;
const MIB_EACH = 64;
/** Far above a 64 KiB body limit; far below what the uploads send together. */
const ALLOWED_GROWTH_MIB = 48;

let up: RecordingUpstream;
let gw: GatewayProcess;

beforeAll(async () => {
  up = await startRecordingUpstream();
  gw = await startGatewayProcess({ upstream: { url: up.url, caPem: up.caPem } });
}, 60_000);

afterAll(async () => {
  await gw?.remove();
  await up?.close();
});

/** POSTs `mib` MiB as a chunked body (no Content-Length); resolves with the answer (head and body). */
function upload(path: string, mib: number, headers = ""): Promise<string> {
  const u = new URL(gw.url);
  return new Promise((resolve) => {
    let out = "";
    const done = () => {
      s.destroy();
      resolve(out);
    };
    /** The whole answer is in once its body has Content-Length bytes. */
    const complete = () => {
      const end = out.indexOf("\r\n\r\n");
      if (end < 0) return false;
      const len = Number(/\r\ncontent-length: *(\d+)/i.exec(out.slice(0, end))?.[1] ?? 0);
      return Buffer.byteLength(out.slice(end + 4)) >= len;
    };
    const s = connect(
      { host: u.hostname, port: Number(u.port), ca: gw.caPem, servername: "localhost" },
      async () => {
        s.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\n${headers}Transfer-Encoding: chunked\r\n\r\n`);
        const chunk = Buffer.alloc(1024 * 1024, 0x78);
        const frame = Buffer.concat([
          Buffer.from(`${chunk.length.toString(16)}\r\n`),
          chunk,
          Buffer.from("\r\n"),
        ]);
        for (let i = 0; i < mib && !s.destroyed && out === ""; i++)
          if (!s.write(frame)) await new Promise((r) => s.once("drain", r));
        if (!s.destroyed) s.write("0\r\n\r\n");
      },
    );
    s.on("data", (d) => {
      out += d.toString();
      if (complete()) done();
    });
    s.on("error", done);
    s.on("close", done);
  });
}

/** Runs `attack` while sampling the gateway's RSS; the peak growth over the start, in MiB. */
async function peakGrowth<T>(attack: () => Promise<T>): Promise<{ result: T; peak: number }> {
  const base = memoryOf(gw.pid).rss;
  let peak = 0;
  let running = true;
  void (async () => {
    while (running) {
      peak = Math.max(peak, memoryOf(gw.pid).rss - base);
      await Bun.sleep(50);
    }
  })();
  const result = await attack();
  await waitFor(() => false, 200);
  running = false;
  return { result, peak };
}

const JSON_TYPE = "Content-Type: application/json\r\n";

test(`${UPLOADS} unauthenticated chunked uploads of ${MIB_EACH} MiB to /v1/auth/login are not held in memory`, async () => {
  const { result: answers, peak } = await peakGrowth(() =>
    Promise.all(Array.from({ length: UPLOADS }, () => upload("/v1/auth/login", MIB_EACH, JSON_TYPE))),
  );
  expect(answers.map((a) => a.split("\r\n")[0])).toEqual(
    Array(UPLOADS).fill("HTTP/1.1 413 Payload Too Large"),
  );
  expect({ peakGrowthMiB: peak > ALLOWED_GROWTH_MIB ? peak : "bounded" }).toEqual({
    peakGrowthMiB: "bounded",
  });
}, 120_000);

// Every other body the gateway reads itself: the answer is 413 naming the limit, and the gateway
// stopped reading (its memory did not take the upload).
for (const [path, headers, limit] of [
  ["/v1/auth/oidc", JSON_TYPE, "65536 bytes (the most /v1/auth/oidc reads)"],
  [
    "/web/login",
    "Content-Type: application/x-www-form-urlencoded\r\n",
    "16384 bytes (the most a console form may send)",
  ],
] as const)
  test(`a chunked ${MIB_EACH} MiB upload to ${path} is refused 413 at the limit`, async () => {
    const { result: answer, peak } = await peakGrowth(() => upload(path, MIB_EACH, headers));
    expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 413 Payload Too Large");
    expect(answer).toContain(`the request body is over ${limit}`);
    expect({ peakGrowthMiB: peak > ALLOWED_GROWTH_MIB / UPLOADS ? peak : "bounded" }).toEqual({
      peakGrowthMiB: "bounded",
    });
  }, 120_000);

test(`a restricted user's chunked ${MIB_EACH} MiB create is refused 413 at 3 MiB, nothing upstream`, async () => {
  // alice's role restricted to web-* configmaps: her creates are checked by the name in their body.
  const backend = openSqliteBackend({ path: join(gw.dir, "registry.db") });
  await backend.put({
    kind: "role",
    version: "v1",
    metadata: { name: "all" },
    spec: {
      allow: {
        kubernetes_labels: { "*": "*" },
        kubernetes_groups: ["developers"],
        kubernetes_resources: [{ kind: "configmaps", namespace: "default", name: "web-*", verbs: ["*"] }],
      },
    },
  } as Resource);
  await backend.close();
  const cms = "/v1/clusters/up/api/v1/namespaces/default/configmaps";
  const refused = async () => {
    const r = await fetch(`${gw.url}${cms}/db`, {
      headers: { authorization: `Bearer ${gw.token}` },
      tls: { ca: gw.caPem },
    } as RequestInit);
    await r.arrayBuffer();
    return r.status === 403;
  };
  let ok = false;
  for (let i = 0; i < 300 && !ok; i++) {
    ok = await refused();
    if (!ok) await Bun.sleep(100);
  }
  expect(ok).toBe(true);
  const before = up.hits.length;
  const { result: answer, peak } = await peakGrowth(() =>
    upload(cms, MIB_EACH, `${JSON_TYPE}Authorization: Bearer ${gw.token}\r\n`),
  );
  expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 413 Payload Too Large");
  expect(answer).toContain("the request body is over 3145728 bytes (the API server's own limit)");
  // (The gateway's own health checks POST SelfSubjectAccessReviews upstream on a timer.)
  expect(up.hits.slice(before).filter((h) => h.path.endsWith("/configmaps"))).toEqual([]);
  expect({ peakGrowthMiB: peak > ALLOWED_GROWTH_MIB / UPLOADS ? peak : "bounded" }).toEqual({
    peakGrowthMiB: "bounded",
  });
}, 120_000);
