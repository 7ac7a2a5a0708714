// The gateway over real sockets against a small recording HTTPS/WebSocket upstream.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { tlsCert } from "../helpers/tls-upstream.ts";
import { cluster, startTestGateway, startUpstream, type TestGateway, type Upstream } from "./fixture.ts";
import { rawRequest } from "./raw-http.ts";

let up: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway({
    clusters: [
      cluster("dev1", up.url, up.caPem, { env: "dev" }),
      cluster("prod1", up.url, up.caPem, { env: "prod" }),
      cluster("hidden", up.url, up.caPem, { env: "staging" }),
    ],
  });
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

const last = () => up.proxied().at(-1)!;

/** A hand-written WebSocket upgrade for an exec (v5 channel protocol), for tests that read the HTTP answer. */
const EXEC_UPGRADE = {
  Connection: "Upgrade",
  Upgrade: "websocket",
  "Sec-WebSocket-Version": "13",
  "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
  "Sec-WebSocket-Protocol": "v5.channel.k8s.io",
};

/**
 * A bare TLS server with a certificate of its own, registered as cluster `name` (env=dev): it answers
 * every request with `response` and keeps the raw request lines, so repeated headers are seen as sent
 * (a Headers object would join them).
 */
async function rawUpstream(name: string, response: string) {
  const lines: string[] = [];
  const cert = await tlsCert("raw");
  const raw = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    tls: cert.tls,
    socket: {
      data(s, d) {
        lines.push(...d.toString().split("\r\n"));
        s.write(response);
        s.end();
      },
    },
  });
  await gw.backend.put(cluster(name, `https://127.0.0.1:${raw.port}`, cert.caPem, { env: "dev" }));
  return { lines, stop: () => raw.stop(true) };
}

/** The values of every Impersonate-Group line, in order. */
const impersonatedGroups = (lines: string[]) =>
  lines.filter((l) => /^impersonate-group:/i.test(l)).map((l) => l.slice(l.indexOf(":") + 1).trim());

describe("routing and auth", () => {
  test("proxies to the cluster's API path with our credentials, not the client's", async () => {
    const res = await gw.fetch("/v1/clusters/dev1/api/v1/namespaces/default/pods?limit=500", {
      token: "alice-token",
      headers: { "Kubectl-Command": "kubectl get" },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ target: "/api/v1/namespaces/default/pods?limit=500" });
    const h = last().headers;
    expect(h.get("authorization")).toBe("Bearer upstream-secret");
    expect(h.get("impersonate-user")).toBe("alice");
    expect(h.get("impersonate-group")).toBe("developers");
    expect(h.get("impersonate-extra-kubeport-user")).toBe("alice");
    expect(h.get("x-forwarded-proto")).toBe("https");
    expect(h.get("x-forwarded-for")).toBe("127.0.0.1");
    const ev = gw.audit.requests.at(-1)!;
    expect(ev).toMatchObject({
      event: "kube.request",
      code: "T3009I",
      user: "alice",
      kubernetes_cluster: "dev1",
      kubernetes_users: ["alice"],
      verb: "GET",
      kube_verb: "list",
      request_path: "/api/v1/namespaces/default/pods",
      resource_api_group: "core/v1",
      resource_kind: "pods",
      resource_namespace: "default",
      response_code: 200,
      "addr.remote": expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      kubectl_command: "kubectl get",
    });
  });

  test.each([
    ["no token", undefined, "/v1/clusters/dev1/api", 401],
    ["an expired token", "expired-token", "/v1/clusters/dev1/api", 401],
    ["a cluster outside the user's roles", "alice-token", "/v1/clusters/prod1/api", 403],
    ["a cluster not served by label", "root-token", "/v1/clusters/hidden/api", 404],
    ["an unknown cluster", "alice-token", "/v1/clusters/nope/api", 404],
    ["a non-API path", "alice-token", "/v1/clusters/dev1/metrics", 404],
  ])("refuses %s with a Status and no upstream request", async (_why, token, path, code) => {
    const before = up.proxied().length;
    const res = await gw.fetch(path, { token });
    expect(res.status).toBe(code);
    const body = (await res.json()) as { kind: string; code: number; message: string };
    expect(body).toMatchObject({ kind: "Status", code });
    if (path.includes("/nope/")) expect(body.message).toBe('kube_cluster "nope" not found');
    expect(up.proxied().length).toBe(before);
  });

  test("client Impersonate-* and Authorization headers never reach upstream", async () => {
    const res = await gw.fetch("/v1/clusters/dev1/api/v1/pods", {
      token: "alice-token",
      headers: {
        "Impersonate-User": "system:admin",
        "Impersonate-Group": "system:masters",
        "Impersonate-Uid": "0",
        "Impersonate-Extra-Scopes": "everything",
        Connection: "X-Evil",
        "X-Evil": "1",
      },
    });
    expect(res.status).toBe(200);
    const h = last().headers;
    expect(h.get("impersonate-user")).toBe("alice");
    expect(h.get("impersonate-group")).toBe("developers");
    expect(h.get("impersonate-uid")).toBeNull();
    expect(h.get("impersonate-extra-scopes")).toBeNull();
    expect(h.get("x-evil")).toBeNull();
  });

  test("several groups reach upstream as separate Impersonate-Group lines", async () => {
    const { lines, stop } = await rawUpstream(
      "multi",
      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
    );
    await Bun.sleep(300);
    const res = await gw.fetch("/v1/clusters/multi/api/v1/pods", { token: "root-token" });
    expect(res.status).toBe(200);
    stop();
    expect(impersonatedGroups(lines)).toEqual(["ops", "system:masters"]);
    // The rest of the identity goes with them, each header once.
    const named = (re: RegExp) => lines.filter((l) => re.test(l));
    expect(named(/^impersonate-user:/i)).toEqual([expect.stringMatching(/admin$/)]);
    expect(named(/^authorization:/i)).toEqual([expect.stringMatching(/: Bearer upstream-secret$/)]);
    expect(named(/^impersonate-extra-kubeport-user:/i)).toEqual(["impersonate-extra-kubeport-user: root"]);
  });
});

describe("upstream connections", () => {
  test("are kept alive and reused across requests", async () => {
    up.ports.clear();
    for (let i = 0; i < 30; i++) {
      expect((await gw.fetch("/v1/clusters/dev1/api/v1/pods", { token: "alice-token" })).status).toBe(200);
    }
    expect(up.ports.size).toBeLessThanOrEqual(2);
  });
});

describe("path tricks over the wire", () => {
  test.each([
    "/v1/clusters/dev1/../prod1/api",
    "/v1/clusters/dev1/api/../../prod1/api",
    "/v1/clusters/dev1/%2e%2e/prod1/api",
    "/v1/clusters/dev1%2f..%2fprod1/api",
    "/v1/clusters/dev1//api",
    "/v1/clusters/dev1\\..\\prod1/api",
    "/v1/clusters/%252e%252e/api",
  ])("%s never reaches prod1", async (target) => {
    const before = up.proxied().length;
    // Sent verbatim: no client-side path normalisation.
    const { status } = await rawRequest(
      gw,
      `GET ${target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer alice-token\r\nConnection: close`,
    );
    // Either refused, or normalised before routing and then judged on its own (alice may not reach prod1).
    expect([400, 403, 404]).toContain(status);
    expect(up.proxied().length).toBe(before);
  });
});

describe("streaming", () => {
  test("a watch streams each event as it happens and ends upstream when the client leaves", async () => {
    const ac = new AbortController();
    const watchesBefore = up.openWatches();
    // Bun.serve sends response headers with the first body chunk, so the first event is what
    // releases them (see the report): emit it once the upstream watch is open.
    const pending = gw.fetch(
      "/v1/clusters/dev1/api/v1/namespaces/default/pods?watch=true&resourceVersion=1",
      {
        token: "alice-token",
        signal: ac.signal,
      },
    );
    for (let i = 0; i < 100 && up.openWatches() === watchesBefore; i++) await Bun.sleep(10);
    up.emit(JSON.stringify({ type: "ADDED", object: { metadata: { name: "p0" } } }));
    const res = await pending;
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('"p0"');
    for (let i = 1; i < 4; i++) {
      const t0 = performance.now();
      up.emit(JSON.stringify({ type: "ADDED", object: { metadata: { name: `p${i}` } } }));
      const { value } = await reader.read();
      expect(new TextDecoder().decode(value)).toContain(`"p${i}"`);
      expect(performance.now() - t0).toBeLessThan(200);
    }
    const cancelledBefore = up.cancelledWatches();
    ac.abort();
    await reader.cancel().catch(() => {});
    for (let i = 0; i < 40 && up.cancelledWatches() === cancelledBefore; i++) await Bun.sleep(25);
    expect(up.cancelledWatches()).toBe(cancelledBefore + 1);
  });

  test("large bodies stream both ways intact", async () => {
    const body = new Uint8Array(3 * 1024 * 1024).fill(7);
    const res = await gw.fetch("/v1/clusters/dev1/api/v1/namespaces/default/configmaps", {
      method: "POST",
      token: "alice-token",
      body,
    });
    expect(((await res.json()) as { bodyLength: number }).bodyLength).toBe(body.length);
    const big = await gw.fetch("/v1/clusters/dev1/api/v1/big?mb=16", { token: "alice-token" });
    expect((await big.arrayBuffer()).byteLength).toBe(16 * 1024 * 1024);
    await Bun.sleep(50);
    expect(gw.audit.requests.at(-1)).toMatchObject({ bytes_out: 16 * 1024 * 1024, response_code: 200 });
  });
});

describe("WebSocket sessions", () => {
  const wsUrl = (path: string) => gw.gateway.url.replace("https", "wss") + path;
  const open = (path: string, token = "alice-token", protocols = ["v5.channel.k8s.io"]) =>
    new WebSocket(wsUrl(path), {
      headers: { authorization: `Bearer ${token}` },
      protocols,
      tls: { ca: gw.gateway.caPem },
    } as never);

  test("exec relays frames both ways, keeps binary, and reports the exit code", async () => {
    const ws = open(
      "/v1/clusters/dev1/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true&stdout=true&exit=3",
    );
    ws.binaryType = "arraybuffer";
    const frames: Uint8Array[] = [];
    const closed = new Promise<CloseEvent>((r) => ws.addEventListener("close", r as never));
    ws.addEventListener("message", (e) => frames.push(new Uint8Array(e.data as ArrayBuffer)));
    await new Promise((r) => ws.addEventListener("open", r));
    expect(ws.protocol).toBe("v5.channel.k8s.io");
    ws.send(Uint8Array.of(0, 104, 105));
    ws.send(Uint8Array.of(255, 0));
    const ev = await closed;
    expect(ev.code).toBe(1000);
    expect(frames[0]).toEqual(Uint8Array.of(1, 104, 105));
    expect(frames[1]![0]).toBe(2);
    expect(frames[2]![0]).toBe(3);
    expect(last().headers.get("impersonate-user")).toBe("alice");
    expect(last().headers.get("authorization")).toBe("Bearer upstream-secret");
    expect(last().headers.get("sec-websocket-protocol")).toBe("v5.channel.k8s.io");
    await Bun.sleep(50);
    const sessionEvents = gw.audit.sessions;
    const sid = sessionEvents[0]!.sid;
    expect(sessionEvents.map((e) => [e.event, e.code, e.sid, e.ei])).toEqual([
      ["session.start", "T2000I", sid, 0],
      ["exec", "T3002E", sid, 1],
      ["session.data", "T2006I", sid, 2],
      ["session.end", "T2004I", sid, 3],
    ]);
    expect(sessionEvents[1]).toMatchObject({
      kubernetes_pod_name: "web-0",
      kubernetes_pod_namespace: "default",
      command: "sh",
      exitCode: "3",
    });
    expect(sessionEvents[2]).toMatchObject({ tx: 5 });
    expect(sessionEvents[3]).toMatchObject({
      session_type: "exec",
      interactive: false,
      initial_command: ["sh"],
    });
  });

  test("an upstream refusal reaches the client as that HTTP status", async () => {
    const res = await gw.fetch("/v1/clusters/dev1/api/v1/namespaces/default/pods/forbidden/exec?command=sh", {
      token: "alice-token",
      headers: EXEC_UPGRADE,
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ kind: "Status", code: 403 });
    // kubectl then retries over SPDY: it gets the same refusal, not "speaks WebSocket only".
    const spdy = await gw.fetch(
      "/v1/clusters/dev1/api/v1/namespaces/default/pods/forbidden/exec?command=sh",
      {
        method: "POST",
        token: "alice-token",
        headers: { Connection: "Upgrade", Upgrade: "SPDY/3.1" },
      },
    );
    expect(spdy.status).toBe(403);
  });

  test("text stays text, pings reach upstream, upstream close codes reach the client", async () => {
    const ws = open("/v1/clusters/dev1/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true");
    const got: unknown[] = [];
    ws.addEventListener("message", (e) => got.push(e.data));
    await new Promise((r) => ws.addEventListener("open", r));
    ws.send("hello");
    (ws as unknown as { ping(d: string): void }).ping("keepalive-1");
    for (let i = 0; i < 50 && (got.length === 0 || !up.pings.includes("keepalive-1")); i++)
      await Bun.sleep(10);
    expect(got).toEqual(["text:hello"]);
    expect(up.pings).toContain("keepalive-1");
    ws.close(1000);

    const ws2 = open(
      "/v1/clusters/dev1/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true&close=4001",
    );
    const closed = new Promise<CloseEvent>((r) => ws2.addEventListener("close", r as never));
    await new Promise((r) => ws2.addEventListener("open", r));
    ws2.send(Uint8Array.of(0, 1));
    const ev = await closed;
    expect([ev.code, ev.reason]).toEqual([4001, "upstream says bye"]);
  });

  test("several groups reach upstream as separate Impersonate-Group lines, and a refusal's own Status comes back", async () => {
    const body = JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      message: 'pods "web-0" is forbidden: custom',
      reason: "Forbidden",
      code: 403,
    });
    const { lines, stop } = await rawUpstream(
      "multi-ws",
      `HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
    await Bun.sleep(300);
    const res = await gw.fetch("/v1/clusters/multi-ws/api/v1/namespaces/default/pods/web-0/exec?command=sh", {
      token: "root-token",
      headers: EXEC_UPGRADE,
    });
    stop();
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toContain("custom");
    expect(impersonatedGroups(lines)).toEqual(["ops", "system:masters"]);
    expect(lines.filter((l) => /^sec-websocket-protocol:/i.test(l))).toEqual([
      "Sec-WebSocket-Protocol: v5.channel.k8s.io",
    ]);
    expect(lines.some((l) => /^authorization: Bearer upstream-secret$/i.test(l))).toBe(true);
  });

  test("a SPDY upgrade is refused with a Status saying why", async () => {
    const res = await gw.fetch("/v1/clusters/dev1/api/v1/namespaces/default/pods/web-0/exec?command=sh", {
      method: "POST",
      token: "alice-token",
      headers: {
        Connection: "Upgrade",
        Upgrade: "SPDY/3.1",
        "X-Stream-Protocol-Version": "v5.channel.k8s.io",
      },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain(
      "exec, attach and cp need kubectl 1.30 or newer, without KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false",
    );
  });

  test("a SPDY port-forward is refused naming kubectl 1.31 and KUBECTL_PORT_FORWARD_WEBSOCKETS", async () => {
    const res = await gw.fetch("/v1/clusters/dev1/api/v1/namespaces/default/pods/web-0/portforward", {
      method: "POST",
      token: "alice-token",
      headers: {
        Connection: "Upgrade",
        Upgrade: "SPDY/3.1",
        "X-Stream-Protocol-Version": "portforward.k8s.io",
      },
    });
    expect(res.status).toBe(400);
    const { message } = (await res.json()) as { message: string };
    expect(message).toContain(
      "port-forward needs kubectl 1.31 or newer, without KUBECTL_PORT_FORWARD_WEBSOCKETS=false",
    );
    expect(message).not.toContain("KUBECTL_REMOTE_COMMAND_WEBSOCKETS");
  });
});

describe("served set follows the registry", () => {
  test("a cluster added is served, and a removed one refused, within 1 s without restart", async () => {
    await gw.backend.put(cluster("late", up.url, up.caPem, { env: "dev" }));
    const t0 = performance.now();
    let status = 0;
    while (performance.now() - t0 < 1000 && status !== 200) {
      status = (await gw.fetch("/v1/clusters/late/version", { token: "alice-token" })).status;
      if (status !== 200) await Bun.sleep(20);
    }
    expect(status).toBe(200);
    await gw.backend.delete("kube_cluster", "late");
    const t1 = performance.now();
    while (performance.now() - t1 < 1000 && status !== 404) {
      status = (await gw.fetch("/v1/clusters/late/version", { token: "alice-token" })).status;
      if (status !== 404) await Bun.sleep(20);
    }
    expect(status).toBe(404);
  });

  test("health and readiness on the gateway's port, metrics not (they live on kubeport.diag_addr)", async () => {
    expect((await gw.fetch("/healthz")).status).toBe(200);
    const ready = await gw.fetch("/readyz");
    expect([ready.status, await ready.text()]).toEqual([200, "ok"]);
    const metrics = await gw.fetch("/metrics");
    expect(metrics.status).toBe(404);
    expect(await metrics.text()).not.toContain("kubeport_gateway");
  });
});
