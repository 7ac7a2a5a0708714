// bench:list-filter — the kubernetes_resources list filter alone, without the rest of the gateway:
// one process, a Bun.serve upstream over TLS answering bench:gateway's 5,000-pod list (3.3 MB), a
// Bun.serve proxy over TLS in front of it, and a client reading each answer whole. Per request,
// interleaved: `plain` (upstream's Response passed on: Bun streams it natively), `stream` (the
// gateway's filterResponse: half the pods kept) and `held` (the same filter over the body read whole,
// then one buffer out: what kubeport did before). Prints p50/min per mode, the stream/plain ratio,
// and the scan alone (jsonListFilter over the body in 64 KiB chunks, no I/O).
//   bun scripts/bench-list-filter.ts            (BENCH_LIST_REQUESTS=25)
import { filterResponse } from "../src/gateway/filter/filter-response.ts";
import { concat, filterJsonList, jsonListFilter } from "../src/gateway/filter/json-list.ts";
import { createCa, issueServerCert } from "../src/lib/x509.ts";
import { BIG_POD_LIST } from "./bench-data.ts";

const N = Number(process.env.BENCH_LIST_REQUESTS ?? 25);
const LIST = BIG_POD_LIST;
const BODY = new TextEncoder().encode(LIST);
const plan = { watch: false, allows: (_ns: string, name: string) => name.startsWith("web-") };

const ca = await createCa("bench:list-filter CA");
const kp = await issueServerCert(ca, {
  commonName: "bench",
  ipAddresses: ["127.0.0.1"],
  dnsNames: ["localhost"],
});
const tls = { cert: kp.certPem, key: kp.keyPem };
const trust = { tls: { ca: ca.certPem } } as RequestInit;
const json = { "content-type": "application/json" };

const up = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  tls,
  fetch: () => new Response(LIST, { headers: json }),
});
const proxy = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  tls,
  async fetch(req) {
    const mode = new URL(req.url).pathname;
    const res = await fetch(`https://127.0.0.1:${up.port}/`, trust);
    if (mode === "/plain") return res;
    if (mode === "/stream") return filterResponse(res, plan);
    const out = concat(filterJsonList(await res.bytes(), plan.allows));
    return new Response(out as Uint8Array<ArrayBuffer>, { headers: json });
  },
});

const modes = ["/plain", "/stream", "/held"] as const;
const times: Record<string, number[]> = { "/plain": [], "/stream": [], "/held": [] };
const bytes: Record<string, number> = {};
try {
  for (let r = 0; r < N; r++)
    for (const m of modes) {
      const t = performance.now();
      const b = await (await fetch(`https://127.0.0.1:${proxy.port}${m}`, trust)).bytes();
      times[m]!.push(performance.now() - t);
      bytes[m] = b.length;
    }
} finally {
  proxy.stop(true);
  up.stop(true);
}
const p50 = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const min = (a: number[]) => Math.min(...a);
for (const m of modes)
  console.log(
    `${m.slice(1).padEnd(6)} p50 ${p50(times[m]!).toFixed(1)} ms, min ${min(times[m]!).toFixed(1)} ms (${(bytes[m]! / 1e6).toFixed(1)} MB)`,
  );
console.log(
  `stream/plain p50: ${(p50(times["/stream"]!) / p50(times["/plain"]!)).toFixed(2)}x (issue 13's target ≤ 1.5x)`,
);

const scan: number[] = [];
for (let r = 0; r < N; r++) {
  const t = performance.now();
  const f = jsonListFilter(plan.allows, 16 << 20);
  for (let at = 0; at < BODY.length; at += 65536) f.push(BODY.subarray(at, at + 65536));
  f.end();
  scan.push(performance.now() - t);
}
console.log(
  `scan alone (${(BODY.length / 1e6).toFixed(1)} MB): p50 ${p50(scan).toFixed(1)} ms, min ${min(scan).toFixed(1)} ms`,
);
