// Only kubeport's own credentials go upstream (issue 10 §4), attack-shaped: each test sends what an
// attacker would through the real gateway and asserts what the recording upstream received.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cluster, startTestGateway, startUpstream, type TestGateway, type Upstream } from "./fixture.ts";
import { arrived, headerLines, rawRequest } from "./raw-http.ts";

let up: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway({ clusters: [cluster("dev1", up.url, up.caPem, { env: "dev" })] });
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

const EXEC = "/v1/clusters/dev1/api/v1/namespaces/default/pods/web-0/exec";
/** root's token (an admin), as a base64url bearer subprotocol: someone else's credential. */
const ROOT_PROTOCOL = `base64url.bearer.authorization.k8s.io.${Buffer.from("root-token").toString("base64url")}`;

/** A complete, valid exec upgrade as kubectl sends it, minus what a test overrides or removes. */
function upgradeHead(target: string, over: Record<string, string | null> = {}): string {
  const headers: Record<string, string | null> = {
    Host: "localhost",
    Authorization: "Bearer alice-token",
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Protocol": "v5.channel.k8s.io",
    ...over,
  };
  const lines = Object.entries(headers)
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([n, v]) => `${n}: ${v}`);
  return [`GET ${target} HTTP/1.1`, ...lines].join("\r\n");
}

const openExec = (query: string, protocols: string[], token: string | undefined = "alice-token") =>
  new WebSocket(gw.gateway.url.replace("https", "wss") + EXEC + query, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    protocols,
    tls: { ca: gw.gateway.caPem },
  } as never);

/** Runs one exec over `ws` (stdin "hi", then close-stdin) and resolves with the frames received. */
async function runExec(ws: WebSocket): Promise<Uint8Array[]> {
  ws.binaryType = "arraybuffer";
  const frames: Uint8Array[] = [];
  ws.addEventListener("message", (e) => frames.push(new Uint8Array(e.data as ArrayBuffer)));
  const closed = new Promise((r) => ws.addEventListener("close", r));
  await new Promise((r, j) => {
    ws.addEventListener("open", r);
    ws.addEventListener("error", j);
  });
  ws.send(Uint8Array.of(0, 104, 105));
  ws.send(Uint8Array.of(255, 0));
  await closed;
  return frames;
}

describe("WebSocket subprotocols", () => {
  test("another user's token in a bearer subprotocol never reaches upstream; the exec runs as the caller", async () => {
    const ws = openExec("?command=sh&stdin=true&m=bearer-1", ["v5.channel.k8s.io", ROOT_PROTOCOL]);
    const frames = await runExec(ws);
    expect(ws.protocol).toBe("v5.channel.k8s.io");
    expect(frames[0]).toEqual(Uint8Array.of(1, 104, 105));
    const [q] = arrived(up, "m=bearer-1");
    expect(q?.headers.get("sec-websocket-protocol")).toBe("v5.channel.k8s.io");
    expect(q?.headers.get("impersonate-user")).toBe("alice");
    const lines = headerLines(up, "m=bearer-1");
    expect(lines.filter((l) => l.includes("bearer.authorization") || l.includes(ROOT_PROTOCOL))).toEqual([]);
  });

  test("a bearer subprotocol is not a credential: without Authorization it is 401 saying where to put the token", async () => {
    const res = await rawRequest(
      gw,
      upgradeHead(`${EXEC}?command=sh&m=bearer-only`, {
        Authorization: null,
        "Sec-WebSocket-Protocol": `v5.channel.k8s.io, ${ROOT_PROTOCOL}`,
      }),
    );
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).message).toBe(
      'a token in a base64url.bearer.authorization.k8s.io WebSocket subprotocol is not accepted: send it as "Authorization: Bearer <token>"',
    );
    expect(arrived(up, "m=bearer-only")).toEqual([]);
  });

  test("subprotocols kubectl never offers are not passed on", async () => {
    const ws = openExec("?command=sh&stdin=true&m=odd-proto", [
      "x-tunnel",
      "v5.channel.k8s.io",
      "v4.channel.k8s.io",
    ]);
    await runExec(ws);
    expect(arrived(up, "m=odd-proto")[0]?.headers.get("sec-websocket-protocol")).toBe(
      "v5.channel.k8s.io, v4.channel.k8s.io",
    );
  });
});

describe("the WebSocket handshake is checked before anything goes upstream", () => {
  // Each of these reached upstream before (the command ran there, then the client got a 400).
  const cases: [string, string, Record<string, string | null>, RegExp][] = [
    ["no Sec-WebSocket-Key", EXEC, { "Sec-WebSocket-Key": null }, /Sec-WebSocket-Key is missing/],
    ["a key that is not 16 bytes", EXEC, { "Sec-WebSocket-Key": "c2hvcnQ=" }, /16 bytes in base64/],
    ["version 8", EXEC, { "Sec-WebSocket-Version": "8" }, /Sec-WebSocket-Version must be 13, got "8"/],
    ["no version", EXEC, { "Sec-WebSocket-Version": null }, /Sec-WebSocket-Version must be 13/],
    ["Connection without Upgrade", EXEC, { Connection: "keep-alive" }, /Connection must list "Upgrade"/],
    ["no subprotocol", EXEC, { "Sec-WebSocket-Protocol": null }, /must offer v5.channel.k8s.io/],
    ["only a bearer subprotocol", EXEC, { "Sec-WebSocket-Protocol": ROOT_PROTOCOL }, /must offer v5/],
    ["an unknown subprotocol", EXEC, { "Sec-WebSocket-Protocol": "chat" }, /must offer v5/],
    [
      "a WebSocket on a list path",
      "/v1/clusters/dev1/api/v1/namespaces/default/pods",
      {},
      /served for pods\/exec, pods\/attach and pods\/portforward only/,
    ],
  ];
  test.each(cases)("%s: 400 naming the problem, nothing upstream", async (why, path, over, message) => {
    const marker = `m=hs-${why.replaceAll(" ", "-")}`;
    const res = await rawRequest(gw, upgradeHead(`${path}?command=rm&${marker}`, over));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).message).toMatch(message);
    expect(arrived(up, marker)).toEqual([]);
  });

  test("POST with Upgrade: websocket is refused before upstream", async () => {
    const res = await rawRequest(gw, upgradeHead(`${EXEC}?command=rm&m=hs-post`).replace(/^GET/, "POST"));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).message).toContain("the method must be GET, not POST");
    expect(arrived(up, "m=hs-post")).toEqual([]);
  });

  test("all problems are named at once", async () => {
    const res = await rawRequest(
      gw,
      upgradeHead(`${EXEC}?command=rm&m=hs-all`, { "Sec-WebSocket-Key": null, "Sec-WebSocket-Version": "7" }),
    );
    expect(JSON.parse(res.body).message).toBe(
      'bad WebSocket handshake: Sec-WebSocket-Key is missing; Sec-WebSocket-Version must be 13, got "7"',
    );
  });
});

describe("credentials in the URL", () => {
  test("access_token and id_token are removed from the upstream URL, every other parameter kept as sent", async () => {
    const res = await gw.fetch(
      "/v1/clusters/dev1/api/v1/pods?limit=1&access_token=root-token&labelSelector=a%3Db&access%5Ftoken=root-token&ID_TOKEN=root-token&m=query-1",
      { token: "alice-token" },
    );
    expect(res.status).toBe(200);
    const [q] = arrived(up, "m=query-1");
    expect(q?.target).toBe("/api/v1/pods?limit=1&labelSelector=a%3Db&m=query-1");
    expect(headerLines(up, "m=query-1").some((l) => l.includes("root-token"))).toBe(false);
  });

  test("an exec's access_token does not reach the upstream WebSocket URL", async () => {
    const ws = openExec("?command=sh&stdin=true&access_token=root-token&m=query-ws", ["v5.channel.k8s.io"]);
    await runExec(ws);
    expect(arrived(up, "m=query-ws")[0]?.target).toBe(
      "/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true&m=query-ws",
    );
  });

  test("a token only in ?access_token= is not a credential: 401 saying where to put it", async () => {
    const res = await gw.fetch("/v1/clusters/dev1/api/v1/pods?access_token=alice-token&m=query-only");
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toBe(
      'a token in the access_token query parameter is not accepted: send it as "Authorization: Bearer <token>"',
    );
    expect(arrived(up, "m=query-only")).toEqual([]);
  });
});

describe("front-proxy identity and Host", () => {
  const X_REMOTE = {
    "X-Remote-User": "system:admin",
    "X-Remote-Group": "system:masters",
    "X-Remote-Uid": "0",
    "X-Remote-Extra-Scopes": "everything",
  };

  test("X-Remote-* headers never reach upstream (HTTP)", async () => {
    const res = await gw.fetch("/v1/clusters/dev1/api/v1/pods?m=xremote-http", {
      token: "alice-token",
      headers: X_REMOTE,
    });
    expect(res.status).toBe(200);
    expect(headerLines(up, "m=xremote-http").filter((l) => l.startsWith("x-remote-"))).toEqual([]);
    expect(arrived(up, "m=xremote-http")[0]?.headers.get("impersonate-user")).toBe("alice");
  });

  test("X-Remote-* headers never reach upstream (exec)", async () => {
    const ws = new WebSocket(
      `${gw.gateway.url.replace("https", "wss")}${EXEC}?command=sh&stdin=true&m=xremote-ws`,
      {
        headers: { authorization: "Bearer alice-token", ...X_REMOTE },
        protocols: ["v5.channel.k8s.io"],
        tls: { ca: gw.gateway.caPem },
      } as never,
    );
    await runExec(ws);
    expect(headerLines(up, "m=xremote-ws").filter((l) => l.startsWith("x-remote-"))).toEqual([]);
  });

  test("two Host headers are refused with 400 and nothing reaches upstream; one reaches it as X-Forwarded-Host", async () => {
    const request = (marker: string, ...hosts: string[]) =>
      rawRequest(
        gw,
        [
          `GET /v1/clusters/dev1/api/v1/pods?m=${marker} HTTP/1.1`,
          ...hosts.map((h) => `Host: ${h}`),
          "Authorization: Bearer alice-token",
        ].join("\r\n"),
      );
    const two = await request("two-hosts", "localhost", "evil.example");
    expect(two.status).toBe(400);
    expect(JSON.parse(two.body).message).toBe("more than one Host header");
    expect(arrived(up, "m=two-hosts")).toEqual([]);

    expect((await request("one-host", "localhost:3080")).status).toBe(200);
    const [q] = arrived(up, "m=one-host");
    expect(q?.headers.get("x-forwarded-host")).toBe("localhost:3080");
    expect(q?.headers.get("host")).toBe(new URL(up.url).host);
  });
});
