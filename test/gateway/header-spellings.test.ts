// Header spellings (red team on issue 10, finding 10a), attack-shaped: what a client sends under
// names the gateway's rules did not expect, and what the recording upstream then received.
// - `Impersonate_User`, `X_Remote_User` …: Go's net/http keeps them apart from the dashed names, but
//   proxies and servers that map `_` to `-` (or both to `HTTP_X_REMOTE_USER`, as CGI does) would hand
//   them to the API server as identity headers.
// - `X-Real-IP`, `Forwarded`, `True-Client-IP` …: kube-apiserver adds X-Real-Ip to an audit event's
//   sourceIPs, so a client's must not reach it; and kubeport's own audit believes a forwarded address
//   only from proxy_service.trusted_proxies, and tells the API server the address it believed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cluster, startTestGateway, startUpstream, type TestGateway, type Upstream } from "./fixture.ts";
import { arrived, headerLines, rawRequest } from "./raw-http.ts";

let up: Upstream;
/** No trusted proxies: the peer is the client. */
let direct: TestGateway;
/** trusted_proxies: [127.0.0.1] — the test client plays the load balancer. */
let behindLb: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  const clusters = [cluster("dev1", up.url, up.caPem, { env: "dev" })];
  direct = await startTestGateway({ clusters });
  behindLb = await startTestGateway({ clusters, proxyYaml: '  trusted_proxies: ["127.0.0.1"]\n' });
});
afterAll(async () => {
  await direct?.close();
  await behindLb?.close();
  await up?.close();
});

const EXEC = "/v1/clusters/dev1/api/v1/namespaces/default/pods/web-0/exec";

const get = (gw: TestGateway, target: string, headers: Record<string, string>) =>
  rawRequest(
    gw,
    [
      `GET ${target} HTTP/1.1`,
      "Host: localhost",
      "Authorization: Bearer alice-token",
      ...Object.entries(headers).map(([n, v]) => `${n}: ${v}`),
    ].join("\r\n"),
  );

/** Identity headers as a server that maps `_` to `-` would read them. */
const UNDERSCORED = {
  Impersonate_User: "system:admin",
  Impersonate_Group: "system:masters",
  Impersonate_Uid: "0",
  Impersonate_Extra_Scopes: "everything",
  X_Remote_User: "system:admin",
  X_Remote_Group: "system:masters",
  X_Remote_Extra_Scopes: "everything",
  X_Forwarded_For: "6.6.6.6",
  X_Forwarded_Host: "evil.example",
  Proxy_Authorization: "Basic cm9vdDpyb290",
  Authorization_: "Bearer root-token",
};

/** Every way a client could name its own address (or someone else's). */
const ADDRESS_CLAIMS = {
  "X-Real-IP": "6.6.6.6",
  X_Real_IP: "6.6.6.6",
  Forwarded: "for=6.6.6.6;proto=https",
  "X-Forwarded-For": "6.6.6.6",
  "True-Client-IP": "6.6.6.6",
  "X-Client-IP": "6.6.6.6",
  "X-Cluster-Client-IP": "6.6.6.6",
  "CF-Connecting-IP": "6.6.6.6",
  "Fastly-Client-IP": "6.6.6.6",
  "X-Original-Forwarded-For": "6.6.6.6",
};

/** The audit event of the request to namespace `ns` (written as the response ends: polled). */
async function auditOf(gw: TestGateway, ns: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ev = gw.audit.requests.find(
      (e) => e.event === "kube.request" && e.request_path.includes(`/${ns}/`),
    );
    if (ev || Date.now() > deadline) return ev;
    await Bun.sleep(20);
  }
}

describe("underscore spellings of identity headers", () => {
  test("never reach upstream (HTTP); the request goes as the caller", async () => {
    const res = await get(direct, "/v1/clusters/dev1/api/v1/pods?m=underscore-http", UNDERSCORED);
    expect(res.status).toBe(200);
    const [q] = arrived(up, "m=underscore-http");
    expect(q?.headers.get("impersonate-user")).toBe("alice");
    const lines = headerLines(up, "m=underscore-http");
    expect(lines.filter((l) => l.slice(0, l.indexOf(":")).includes("_"))).toEqual([]);
    expect(
      lines.filter((l) => /system:admin|system:masters|everything|6\.6\.6\.6|evil|root/.test(l)),
    ).toEqual([]);
  });

  test("never reach upstream (exec)", async () => {
    const ws = new WebSocket(
      `${direct.gateway.url.replace("https", "wss")}${EXEC}?command=sh&stdin=true&m=underscore-ws`,
      {
        headers: { authorization: "Bearer alice-token", ...UNDERSCORED },
        protocols: ["v5.channel.k8s.io"],
        tls: { ca: direct.gateway.caPem },
      } as never,
    );
    const closed = new Promise((r) => ws.addEventListener("close", r));
    await new Promise((r, j) => {
      ws.addEventListener("open", r);
      ws.addEventListener("error", j);
    });
    ws.send(Uint8Array.of(255, 0));
    await closed;
    const [q] = arrived(up, "m=underscore-ws");
    expect(q?.headers.get("impersonate-user")).toBe("alice");
    const lines = headerLines(up, "m=underscore-ws");
    expect(lines.filter((l) => l.slice(0, l.indexOf(":")).includes("_"))).toEqual([]);
    expect(lines.filter((l) => /system:admin|system:masters|everything|6\.6\.6\.6|root/.test(l))).toEqual([]);
  });

  test("every underscore name is dropped (as nginx and Apache httpd do): kubectl sends none, and no rule can list every identity header a proxy might map", async () => {
    const res = await get(direct, "/v1/clusters/dev1/api/v1/pods?m=underscore-any", {
      X_Trace_Id: "t1",
      "X-Trace-Id": "t2",
    });
    expect(res.status).toBe(200);
    const [q] = arrived(up, "m=underscore-any");
    expect(q?.headers.get("x_trace_id")).toBeNull();
    expect(q?.headers.get("x-trace-id")).toBe("t2");
  });
});

describe("malformed spellings are refused before anything goes upstream (these held: guards)", () => {
  const head = (marker: string, lines: string[]) =>
    [`GET /v1/clusters/dev1/api/v1/pods?m=${marker} HTTP/1.1`, "Host: localhost", ...lines].join("\r\n");
  test.each<[string, string[], number]>([
    // obs-fold: a continuation line some parsers join to the header before, others read as a header.
    ["obs-fold", ["Authorization: Bearer alice-token", "X-Trace: a", " Impersonate-User: system:admin"], 400],
    [
      "a space before the colon",
      ["Authorization: Bearer alice-token", "Impersonate-User : system:admin"],
      400,
    ],
    // Two Authorization lines: neither is chosen (401), whichever order.
    [
      "two Authorization lines",
      ["Authorization: Bearer alice-token", "Authorization: Bearer root-token"],
      401,
    ],
    [
      "two Authorization lines, reversed",
      ["Authorization: Bearer root-token", "Authorization: Bearer alice-token"],
      401,
    ],
  ])("%s: refused, nothing upstream", async (why, lines, status) => {
    const marker = `spell-${why.replaceAll(/[^a-z]/g, "-")}`;
    expect((await rawRequest(direct, head(marker, lines))).status).toBe(status);
    expect(arrived(up, `m=${marker}`)).toEqual([]);
  });
});

describe("client address headers", () => {
  test("from a peer that is no trusted proxy: none reaches upstream, audit and upstream see the peer", async () => {
    const res = await get(
      direct,
      "/v1/clusters/dev1/api/v1/namespaces/addr-direct/pods?m=addr-direct",
      ADDRESS_CLAIMS,
    );
    expect(res.status).toBe(200);
    const [q] = arrived(up, "m=addr-direct");
    expect(q?.headers.get("x-forwarded-for")).toBe("127.0.0.1");
    expect(headerLines(up, "m=addr-direct").filter((l) => l.includes("6.6.6.6"))).toEqual([]);
    const names = [...(q?.headers.keys() ?? [])];
    for (const n of [
      "x-real-ip",
      "x_real_ip",
      "forwarded",
      "true-client-ip",
      "x-client-ip",
      "cf-connecting-ip",
    ])
      expect(names).not.toContain(n);
    const ev = await auditOf(direct, "addr-direct");
    expect(ev?.["addr.remote"]).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  test("a trusted proxy's X-Forwarded-For is believed — and only that: audit and upstream see its client, never a client's own claims", async () => {
    const res = await get(behindLb, "/v1/clusters/dev1/api/v1/namespaces/addr-lb/pods?m=addr-lb", {
      ...ADDRESS_CLAIMS,
      // The client forged the left entry; the load balancer appended the address it saw.
      "X-Forwarded-For": "6.6.6.6, 203.0.113.9",
    });
    expect(res.status).toBe(200);
    const [q] = arrived(up, "m=addr-lb");
    // One entry: the API server's audit takes X-Forwarded-For entries as sourceIPs, first first.
    expect(q?.headers.get("x-forwarded-for")).toBe("203.0.113.9");
    expect(headerLines(up, "m=addr-lb").filter((l) => l.includes("6.6.6.6"))).toEqual([]);
    const ev = await auditOf(behindLb, "addr-lb");
    expect(ev?.["addr.remote"]).toBe("203.0.113.9");
  });

  test("behind a trusted proxy, X-Real-IP and Forwarded are not read: with no X-Forwarded-For the peer is the client", async () => {
    await get(behindLb, "/v1/clusters/dev1/api/v1/namespaces/addr-lb-real/pods?m=addr-lb-real", {
      "X-Real-IP": "6.6.6.6",
      Forwarded: "for=6.6.6.6",
    });
    const [q] = arrived(up, "m=addr-lb-real");
    expect(q?.headers.get("x-forwarded-for")).toBe("127.0.0.1");
    const ev = await auditOf(behindLb, "addr-lb-real");
    expect(ev?.["addr.remote"]).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});
