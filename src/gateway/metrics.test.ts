// The request path's counters are plain numbers; a scrape shows exactly what prom-client's own
// inc/observe of the same values would.
import { describe, expect, test } from "bun:test";
import { Counter, Histogram, Registry } from "prom-client";
import { createGatewayMetrics, LATENCY_BUCKETS } from "./metrics.ts";

/** The lines of one metric family in an exposition. */
const family = (text: string, name: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name}_`) || l.startsWith(`# HELP ${name} `))
    .sort();

describe("gateway metrics", () => {
  test("requests and latency scrape as prom-client's own counter and histogram would", async () => {
    const registry = new Registry();
    const m = createGatewayMetrics(registry);
    const reference = new Registry();
    const requests = new Counter({
      name: "kubeport_gateway_requests_total",
      help: "Proxied Kubernetes API requests",
      labelNames: ["cluster", "code", "verb"],
      registers: [reference],
    });
    const latency = new Histogram({
      name: "kubeport_gateway_request_seconds",
      help: "Time to the upstream response headers",
      labelNames: ["cluster"],
      buckets: LATENCY_BUCKETS,
      registers: [reference],
    });
    const seen: [string, number, string][] = [
      ["a", 200, "list"],
      ["a", 200, "list"],
      ["b", 403, "get"],
      ["a", 200, "watch"],
      ["", 401, ""],
    ];
    for (const [cluster, code, verb] of seen) {
      m.requests.inc(cluster, code, verb);
      requests.inc({ cluster, code: String(code), verb });
    }
    // Every bucket, both edges, past the last bound.
    const seconds = [0.001, 0.005, 0.0051, 0.03, 0.25, 0.7, 3, 10, 11, 0.01];
    for (const [i, s] of seconds.entries()) {
      const cluster = i % 3 === 0 ? "b" : "a";
      m.latency.observe(cluster, s);
      latency.observe({ cluster }, s);
    }
    const got = await registry.metrics();
    const want = await reference.metrics();
    for (const name of ["kubeport_gateway_requests_total", "kubeport_gateway_request_seconds"]) {
      expect(family(got, name)).toEqual(family(want, name));
      expect(family(got, name).length).toBeGreaterThan(2);
    }
    // A second scrape after more requests: counted on, not doubled.
    m.requests.inc("a", 200, "list");
    requests.inc({ cluster: "a", code: "200", verb: "list" });
    m.latency.observe("a", 0.02);
    latency.observe({ cluster: "a" }, 0.02);
    const again = await registry.metrics();
    const wantAgain = await reference.metrics();
    for (const name of ["kubeport_gateway_requests_total", "kubeport_gateway_request_seconds"])
      expect(family(again, name)).toEqual(family(wantAgain, name));
  });
});

describe("gateway metrics at organization scale", () => {
  test("a scrape reads prom-client's histogram entries once, not once per cluster", async () => {
    const registry = new Registry();
    const m = createGatewayMetrics(registry);
    const clusters = 500;
    for (let i = 0; i < clusters; i++) m.latency.observe(`c${i}`, 0.002 * (i % 7));
    // Count the walks over the histogram's entries: prom-client replaces its hashMap on reset(), so
    // each one it sets is wrapped as it is set.
    const histogram = registry.getSingleMetric("kubeport_gateway_request_seconds") as unknown as Record<
      string,
      unknown
    >;
    let walks = 0;
    let current = histogram.hashMap as object;
    Object.defineProperty(histogram, "hashMap", {
      configurable: true,
      get: () => current,
      set: (v: object) => {
        current = new Proxy(v, {
          ownKeys(target) {
            walks++;
            return Reflect.ownKeys(target);
          },
        });
      },
    });
    const text = await registry.metrics();
    expect(walks).toBeLessThanOrEqual(2);
    // Every cluster's own figures, not another's.
    for (const i of [0, 1, 6, 250, 499]) {
      const le = 0.002 * (i % 7) <= 0.005 ? "0.005" : "0.025";
      expect(text).toContain(`kubeport_gateway_request_seconds_bucket{le="${le}",cluster="c${i}"} 1`);
      expect(text).toContain(`kubeport_gateway_request_seconds_count{cluster="c${i}"} 1`);
    }
  });
});
