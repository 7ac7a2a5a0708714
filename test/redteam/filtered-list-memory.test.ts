// Red team (issue 10), one client exhausting the gateway: a user whose role restricts
// kubernetes_resources has every list filtered, and the gateway reads each such list whole before
// filtering it (up to 256 MiB a list). Plain requests take no stream slot and nothing bounds the bytes
// held across requests, so one low-privilege user with N concurrent lists makes the gateway hold N
// lists: 64 concurrent 8 MiB lists hold ~500 MiB (a cluster-wide pod list of a big cluster is
// 50-100 MB: a handful of requests). An unrestricted user's lists stream through without this cost.
// Fixed: filtered lists share one budget of bytes held (limits/filter-budget.ts, 128 MiB by default).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { openSqliteBackend, type Resource } from "../../src/registry/index.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { startTlsUpstream, type TlsUpstream } from "../helpers/tls-upstream.ts";
import { memoryOf } from "../helpers/ws-attack.ts";
import { waitFor } from "./harness.ts";

const MiB = 1024 * 1024;
const N = 64;
const LIST_BYTES = 8 * MiB;
/** The gateway's own budget for bytes it holds for WebSocket sessions (ws_max_buffered_bytes_total). */
const PROCESS_BUDGET_MIB = 256;

let up: TlsUpstream<undefined>;
let gw: GatewayProcess;
let arrived = 0;
let release: () => void = () => {};
const released = new Promise<void>((r) => {
  release = r;
});

// One PodList of ~8 MiB: 64 pods with a 128 KiB annotation each.
const BODY = new TextEncoder().encode(
  JSON.stringify({
    kind: "PodList",
    apiVersion: "v1",
    metadata: { resourceVersion: "1" },
    items: Array.from({ length: 64 }, (_, i) => ({
      metadata: {
        name: `web-${i}`,
        namespace: "default",
        annotations: { pad: "x".repeat(LIST_BYTES / 64 - 200) },
      },
    })),
  }),
);

beforeAll(async () => {
  up = await startTlsUpstream({
    idleTimeout: 0,
    fetch(req) {
      if (!new URL(req.url).pathname.endsWith("/pods")) return Response.json({ kind: "Pod" });
      arrived++;
      // All but the last KiB at once; the rest when every request has arrived (or 30 s passed).
      return new Response(
        new ReadableStream<Uint8Array>({
          async start(c) {
            c.enqueue(BODY.subarray(0, BODY.length - 1024));
            await Promise.race([released, Bun.sleep(30_000)]);
            c.enqueue(BODY.subarray(BODY.length - 1024));
            c.close();
          },
        }),
        { headers: { "content-type": "application/json", "content-length": String(BODY.length) } },
      );
    },
  });
  // `kubeport start` as its own process, so its memory is its own.
  gw = await startGatewayProcess({ upstream: { url: up.url, caPem: up.caPem } });
  // alice's role, restricted to web-* pods: every list of hers is filtered.
  const backend = openSqliteBackend({ path: join(gw.dir, "registry.db") });
  await backend.put({
    kind: "role",
    version: "v1",
    metadata: { name: "all" },
    spec: {
      allow: {
        kubernetes_labels: { "*": "*" },
        kubernetes_groups: ["developers"],
        kubernetes_resources: [{ kind: "pods", namespace: "default", name: "web-*", verbs: ["get", "list"] }],
      },
    },
  } as Resource);
  await backend.close();
  const refusedDb = async () => {
    const r = await get("/v1/clusters/up/api/v1/namespaces/default/pods/db-0");
    await r.arrayBuffer();
    return r.status === 403;
  };
  let ok = false;
  for (let i = 0; i < 300 && !ok; i++) {
    ok = await refusedDb();
    if (!ok) await Bun.sleep(100);
  }
  expect(ok).toBe(true);
}, 60_000);

afterAll(async () => {
  release();
  await gw?.remove();
  up?.stop();
});

const get = (path: string) =>
  fetch(gw.url + path, {
    headers: { authorization: `Bearer ${gw.token}` },
    tls: { ca: gw.caPem },
  } as RequestInit);

test(`${N} concurrent filtered lists of one user do not make the gateway hold more than ${PROCESS_BUDGET_MIB} MiB`, async () => {
  const base = memoryOf(gw.pid).rss;
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, memoryOf(gw.pid).rss - base);
    return peak;
  };
  const pending = Array.from({ length: N }, () =>
    get("/v1/clusters/up/api/v1/namespaces/default/pods")
      .then(async (r) => {
        const body = new Uint8Array(await r.arrayBuffer());
        return {
          status: r.status,
          bytes: body.byteLength,
          retryAfter: r.headers.get("retry-after"),
          text: r.status === 200 ? "" : new TextDecoder().decode(body),
        };
      })
      .catch(() => ({ status: 0, bytes: 0, retryAfter: null, text: "" })),
  );
  // Every request reached upstream and got all but its last KiB; the gateway holds what it read.
  await waitFor(() => arrived >= N, 30_000);
  await waitFor(() => sample() > PROCESS_BUDGET_MIB, 30_000, 100);
  release();
  const results = await Promise.all(pending);
  expect({ heldMiB: peak > PROCESS_BUDGET_MIB ? peak : "within budget" }).toEqual({
    heldMiB: "within budget",
  });
  // (A fix may refuse some of them with 429/503; none may be cut short.)
  for (const r of results) expect([200, 429, 503]).toContain(r.status);
  // The fix: new filtered lists past proxy_service.limits.filtered_list_bytes_total are a 429 that
  // names it, with Retry-After (client-go waits and retries); the ones served are whole.
  for (const r of results.filter((r) => r.status === 429)) {
    expect(r.retryAfter).toBe("1");
    expect(r.text).toContain("proxy_service.limits.filtered_list_bytes_total");
  }
  for (const r of results.filter((r) => r.status === 200)) expect(r.bytes).toBe(BODY.length);
}, 120_000);
