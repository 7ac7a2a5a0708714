// Every stream is a stream, however the request spells it (red team on issue 10): kube-apiserver reads
// `?watch=` and `?follow=` by Go's rules (anything but 0/false is true: True, yes, t, empty), still
// serves the legacy /api/v1/watch/… prefix, streams through pods/NAME:PORT/proxy, and an aggregated API
// can stream any response. Each of these must end when its user is removed, and take one of the user's
// stream slots (max_kubernetes_connections). The upstream here is a raw TLS server that keeps a
// chunked body open: what it sees closing is what the API server would see.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import { runCliCaptured } from "../helpers/cli.ts";
import { type RawUpstream, startRawUpstream } from "../helpers/raw-upstream.ts";
import { until } from "../helpers/ws-attack.ts";
import { cluster, startTestGateway, type TestGateway, testRoles } from "./fixture.ts";

const ISSUER = kubeportIssuer({ public_addr: "localhost:3080" });
const P = "/v1/clusters/dev-a";

/** Requests kube-apiserver answers with a stream, each spelled a way the old rule did not read as one. */
const SPELLINGS: Record<string, string> = {
  "?watch=true (the spelling kubectl uses)": "/api/v1/namespaces/default/pods?watch=true",
  "?watch=True": "/api/v1/namespaces/default/pods?watch=True",
  "?watch=yes": "/api/v1/namespaces/default/pods?watch=yes",
  "?watch=t": "/api/v1/namespaces/default/pods?watch=t",
  "?watch= (empty)": "/api/v1/namespaces/default/pods?watch=",
  "?watch=yes&watch=false (the first value counts)":
    "/api/v1/namespaces/default/secrets?watch=yes&watch=false",
  "/api/v1/watch/ prefix": "/api/v1/watch/namespaces/default/pods",
  "/apis/apps/v1/watch/ prefix": "/apis/apps/v1/watch/deployments",
  "logs ?follow=True": "/api/v1/namespaces/default/pods/web-0/log?follow=True",
  "logs ?follow=yes": "/api/v1/namespaces/default/pods/web-0/log?follow=yes",
  "pods/NAME:PORT/proxy": "/api/v1/namespaces/default/pods/web-0:8080/proxy/events",
  "services/NAME/proxy": "/api/v1/namespaces/default/services/web:80/proxy/stream",
  "an aggregated API that streams a plain GET": "/apis/metrics.example.com/v1/namespaces/default/feeds",
};

const user = (name: string): Resource => ({
  kind: "user",
  version: "v1",
  metadata: { name },
  spec: { roles: ["dev"], created: new Date().toISOString() },
});

/** Reads `r` until `marker` arrives (→ "relayed"), the stream ends (→ "ended"), or `ms` pass (→ "silent"). */
async function outcome(r: ReadableStreamDefaultReader<Uint8Array>, marker: string, ms: number) {
  const dec = new TextDecoder();
  let text = "";
  const read = (async () => {
    for (;;) {
      const { done, value } = await r.read();
      if (done) return "ended";
      text += dec.decode(value);
      if (text.includes(marker)) return "relayed";
    }
  })().catch(() => "ended");
  return Promise.race([read, Bun.sleep(ms).then(() => "silent")]);
}

describe("a removed user's streams end, however the request spelled them", () => {
  let up: RawUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    // Everything streams except /version.
    up = await startRawUpstream((h) => !h.line.includes("/version"));
    gw = await startTestGateway({
      realAuth: true,
      clusters: [cluster("dev-a", up.url, up.caPem, { env: "dev" })],
      resources: [...testRoles, user("eve")],
    });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    up?.close();
  });

  test("ctl users rm closes every one of them upstream and none relays a later event", async () => {
    const token = await issueUserToken(gw.backend, { user: "eve", issuer: ISSUER });
    const readers = new Map<string, ReadableStreamDefaultReader<Uint8Array>>();
    for (const [name, path] of Object.entries(SPELLINGS)) {
      const res = await gw.fetch(P + path, { token });
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
      const r = res.body!.getReader();
      await r.read(); // the first event: the stream is open end to end
      readers.set(name, r);
    }
    const count = Object.keys(SPELLINGS).length;
    expect(up.open()).toBe(count);

    const rm = await runCliCaptured(["ctl", "-c", gw.configPath, "users", "rm", "eve"]);
    expect(rm.code).toBe(0);
    // The API server sees every stream close.
    await until(() => up.open() === 0, 20_000).catch(() => {
      throw new Error(`${up.open()} of ${count} streams still open upstream after users rm`);
    });
    up.emit('{"type":"MODIFIED","object":{"kind":"Pod","metadata":{"name":"after-rm"}}}');
    const relayed: string[] = [];
    for (const [name, r] of readers) {
      if ((await outcome(r, "after-rm", 500)) === "relayed") relayed.push(name);
      void r.cancel().catch(() => {});
    }
    expect(relayed).toEqual([]);
  }, 60_000);
});

describe("max_kubernetes_connections counts every stream, however it is spelled", () => {
  let up: RawUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    up = await startRawUpstream((h) => !h.line.includes("/version"));
    gw = await startTestGateway({
      realAuth: true,
      clusters: [cluster("dev-a", up.url, up.caPem, { env: "dev" })],
      resources: [...testRoles, user("eve")],
      proxyYaml: "  limits:\n    max_kubernetes_connections: 2\n",
    });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    up?.close();
  });

  test("with two watches open, each spelling is a 429 and the API server holds no third stream", async () => {
    const token = await issueUserToken(gw.backend, { user: "eve", issuer: ISSUER });
    const open: ReadableStreamDefaultReader<Uint8Array>[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const res = await gw.fetch(`${P}/api/v1/pods?watch=true&n=${i}`, { token });
        expect(res.status).toBe(200);
        const r = res.body!.getReader();
        await r.read();
        open.push(r);
      }
      const statuses: Record<string, number> = {};
      for (const [name, path] of Object.entries(SPELLINGS)) {
        const res = await gw.fetch(P + path, { token });
        statuses[name] = res.status;
        await res.arrayBuffer().catch(() => {});
      }
      expect(statuses).toEqual(Object.fromEntries(Object.keys(SPELLINGS).map((n) => [n, 429])));
      // The one that could only be known by its response (the aggregated API) reached upstream and
      // was closed there at once; none of the others reached it at all.
      await until(() => up.open() === 2, 20_000);
      expect(up.headsWith("/apis/metrics.example.com/").length).toBe(1);
      expect(up.heads.filter((h) => /watch|follow|proxy/.test(h.line)).length).toBe(2);
      // A plain request is not a stream and is still served.
      expect((await gw.fetch(`${P}/version`, { token })).status).toBe(200);
    } finally {
      for (const r of open) void r.cancel().catch(() => {});
    }
  }, 60_000);
});
