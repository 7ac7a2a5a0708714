// Each kind of client kubeport has — Bun fetch, node:https (the multi-group path), the AWS SDK and the
// upstream WebSocket client — through a logging CONNECT proxy, a refusing one and a dead one. The
// targets are reached by names only the proxy resolves (*.proxy.test → 127.0.0.1), so a request that
// bypassed the proxy could not connect at all.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import https from "node:https";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { connectWs } from "../../src/gateway/forward/ws-client.ts";
import {
  awsRequestHandler,
  createEgress,
  type Egress,
  EgressHttpsAgent,
  egressFetch,
} from "../../src/lib/egress/index.ts";
import { createCa, type KeyPairPem } from "../../src/lib/x509.ts";
import { s3Store } from "../../src/recording/index.ts";
import { type AwsSim, startAwsSim } from "../../src/sim/index.ts";
import { type ConnectProxy, deadProxyUrl, startConnectProxy } from "../helpers/connect-proxy.ts";
import { startTlsUpstream } from "../helpers/tls-upstream.ts";

const NAME = "api.proxy.test";
let ca: KeyPairPem;
let server: ReturnType<typeof Bun.serve<undefined>>;
let plain: ReturnType<typeof Bun.serve<undefined>>;
let aws: AwsSim;
let proxy: ConnectProxy;
let refusing: ConnectProxy;
let dead: string;
/** Client ports of requests the servers received. */
const seen: number[] = [];

beforeAll(async () => {
  const handler = {
    fetch(req: Request, srv: Bun.Server<undefined>) {
      seen.push(srv.requestIP(req)?.port ?? 0);
      if (req.headers.get("upgrade") === "websocket")
        return srv.upgrade(req) ? undefined : new Response("", { status: 400 });
      return new Response(`hello ${new URL(req.url).pathname}`);
    },
    websocket: { message: (ws: Bun.ServerWebSocket<undefined>, m: string | Buffer) => void ws.send(m) },
  };
  ({ server, ca } = await startTlsUpstream(handler, { name: NAME, dnsNames: [NAME] }));
  plain = Bun.serve({ hostname: "127.0.0.1", port: 0, ...handler });
  aws = await startAwsSim({ clusters: [] });
  const hosts = { [NAME]: "127.0.0.1", "aws.proxy.test": "127.0.0.1" };
  proxy = await startConnectProxy({ hosts });
  refusing = await startConnectProxy({ hosts, refuse: 403 });
  dead = await deadProxyUrl();
});

afterAll(async () => {
  server?.stop(true);
  plain?.stop(true);
  await aws?.close();
  await proxy?.stop();
  await refusing?.stop();
});

const through = (url: string, extra: Record<string, string> = {}): Egress =>
  createEgress({ HTTPS_PROXY: url, HTTP_PROXY: url, ...extra });
const tlsUrl = (path = "/x") => `https://${NAME}:${server.port}${path}`;

/** Asserts the last request the servers saw came in on a connection the proxy opened. */
function cameThroughProxy(p: ConnectProxy, target: string) {
  expect(p.log.some((e) => e.target.includes(target) && e.status === 200)).toBe(true);
  expect(p.upstreamPorts().has(seen.at(-1)!)).toBe(true);
}

describe("Bun fetch (single-group requests, health checks, OIDC discovery and JWKS)", () => {
  test("https: a CONNECT tunnel through HTTPS_PROXY", async () => {
    const res = await egressFetch(tlsUrl("/fetch"), { tls: { ca: ca.certPem } }, through(proxy.url));
    expect(await res.text()).toBe("hello /fetch");
    cameThroughProxy(proxy, `${NAME}:${server.port}`);
  });

  test("http: through HTTP_PROXY", async () => {
    const res = await egressFetch(`http://${NAME}:${plain.port}/plain`, {}, through(proxy.url));
    expect(await res.text()).toBe("hello /plain");
    cameThroughProxy(proxy, `${NAME}:${plain.port}`);
  });

  test("a NO_PROXY target connects directly", async () => {
    const before = proxy.log.length;
    const res = await egressFetch(
      `https://127.0.0.1:${server.port}/direct`,
      { tls: { ca: ca.certPem } },
      through(proxy.url, { NO_PROXY: "127.0.0.0/8" }),
    );
    expect(await res.text()).toBe("hello /direct");
    expect(proxy.log.length).toBe(before);
  });

  test("proxy credentials are sent to the proxy", async () => {
    const authed = `http://kube:s3cret@127.0.0.1:${proxy.port}`;
    await (await egressFetch(tlsUrl("/auth"), { tls: { ca: ca.certPem } }, through(authed))).text();
    expect(proxy.log.at(-1)?.authorization).toBe(`Basic ${btoa("kube:s3cret")}`);
  });

  test("a dead proxy: the error names the proxy, its variable and the target", async () => {
    const err = await egressFetch(tlsUrl(), { tls: { ca: ca.certPem } }, through(dead)).catch((e) => e);
    expect((err as Error).message).toBe(
      `proxy ${dead} (HTTPS_PROXY) for ${NAME}:${server.port}: cannot reach the proxy: connection refused (is the proxy running, and is this its address?)`,
    );
  });

  test("a proxy refusing the tunnel: its answer is in the error", async () => {
    const err = await egressFetch(tlsUrl(), { tls: { ca: ca.certPem } }, through(refusing.url)).catch(
      (e) => e,
    );
    expect((err as Error).message).toBe(
      `proxy ${refusing.url} (HTTPS_PROXY) for ${NAME}:${server.port}: the proxy refused the tunnel: HTTP 403 Refused by test proxy`,
    );
  });
});

/** One request through node:https with the egress agent (the gateway's multi-group path). */
function nodeGet(egress: Egress, path: string, agent = new EgressHttpsAgent(egress)): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      tlsUrl(path),
      { agent, ca: ca.certPem, headers: { "impersonate-group": ["a", "b"] } },
      (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve(body));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("node:https with the egress agent (requests impersonating two or more groups)", () => {
  test("through the proxy", async () => {
    expect(await nodeGet(through(proxy.url), "/node")).toBe("hello /node");
    cameThroughProxy(proxy, `${NAME}:${server.port}`);
  });

  test("a target given by IP address (no SNI) through the proxy", async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.request(
        `https://127.0.0.1:${server.port}/by-ip`,
        { agent: new EgressHttpsAgent(through(proxy.url)), ca: ca.certPem },
        (res) => {
          let b = "";
          res.on("data", (c) => (b += c));
          res.on("end", () => resolve(b));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(body).toBe("hello /by-ip");
    cameThroughProxy(proxy, `127.0.0.1:${server.port}`);
  });

  test("one agent, many requests in a row and at once (connections are pooled)", async () => {
    const agent = new EgressHttpsAgent(through(proxy.url));
    for (let i = 0; i < 3; i++)
      expect(await nodeGet(through(proxy.url), `/seq${i}`, agent)).toBe(`hello /seq${i}`);
    const many = await Promise.all([0, 1, 2, 3].map((i) => nodeGet(through(proxy.url), `/par${i}`, agent)));
    expect(many).toEqual(["hello /par0", "hello /par1", "hello /par2", "hello /par3"]);
  });

  test("a dead proxy names the proxy", async () => {
    await expect(nodeGet(through(dead), "/node")).rejects.toThrow(
      `proxy ${dead} (HTTPS_PROXY) for ${NAME}:${server.port}: cannot reach the proxy: connection refused`,
    );
  });

  test("a refusing proxy names the proxy and its answer", async () => {
    await expect(nodeGet(through(refusing.url), "/node")).rejects.toThrow(
      `proxy ${refusing.url} (HTTPS_PROXY) for ${NAME}:${server.port}: the proxy refused the tunnel: HTTP 403`,
    );
  });
});

describe("the AWS SDK with awsRequestHandler (discovery, STS)", () => {
  const sts = (egress: Egress) =>
    new STSClient({
      region: "us-east-1",
      endpoint: aws.url.replace("127.0.0.1", "aws.proxy.test"),
      credentials: {
        accessKeyId: aws.env.AWS_ACCESS_KEY_ID!,
        secretAccessKey: aws.env.AWS_SECRET_ACCESS_KEY!,
      },
      maxAttempts: 1,
      requestHandler: awsRequestHandler({ connectionTimeout: 5000 }, egress),
    });

  test("GetCallerIdentity through the proxy", async () => {
    const client = sts(through(proxy.url));
    try {
      const me = await client.send(new GetCallerIdentityCommand({}));
      expect(me.Account).toBe("111111111111");
      expect(proxy.log.some((e) => e.target === `aws.proxy.test:${new URL(aws.url).port}`)).toBe(true);
    } finally {
      client.destroy();
    }
  });

  test("a dead proxy: the SDK's error names the proxy", async () => {
    const client = sts(through(dead));
    try {
      await expect(client.send(new GetCallerIdentityCommand({}))).rejects.toThrow(
        `proxy ${dead} (HTTP_PROXY) for aws.proxy.test:${new URL(aws.url).port}: cannot reach the proxy`,
      );
    } finally {
      client.destroy();
    }
  });
});

describe("the upstream WebSocket client (exec, attach, port-forward)", () => {
  const open = (egress: Egress, scheme = "wss", port = server.port) =>
    connectWs({
      url: `${scheme}://${NAME}:${port}/exec`,
      headers: [],
      protocols: [],
      ca: ca.certPem,
      egress,
    });

  test.each(["wss", "ws"])("%s through the proxy: frames both ways", async (scheme) => {
    const ws = await open(through(proxy.url), scheme, scheme === "wss" ? server.port : plain.port);
    try {
      cameThroughProxy(proxy, `${NAME}:${scheme === "wss" ? server.port : plain.port}`);
      const got = new Promise<string>((resolve) => {
        ws.onMessage = (m) => resolve(typeof m === "string" ? m : new TextDecoder().decode(m));
      });
      ws.start();
      ws.send("ping through the tunnel");
      expect(await got).toBe("ping through the tunnel");
    } finally {
      ws.close();
    }
  });

  test("a dead proxy names the proxy", async () => {
    await expect(open(through(dead))).rejects.toThrow(
      `proxy ${dead} (HTTPS_PROXY) for ${NAME}:${server.port}: cannot reach the proxy: connection refused`,
    );
  });

  test("a refusing proxy names the proxy and its answer", async () => {
    await expect(open(through(refusing.url))).rejects.toThrow(
      `proxy ${refusing.url} (HTTPS_PROXY) for ${NAME}:${server.port}: the proxy refused the tunnel: HTTP 403`,
    );
  });

  test("the target's certificate is still checked inside the tunnel", async () => {
    const other = await createCa("not the server's CA");
    await expect(
      connectWs({
        url: `wss://${NAME}:${server.port}/exec`,
        headers: [],
        protocols: [],
        ca: other.certPem,
        egress: through(proxy.url),
      }),
    ).rejects.toThrow(/certificate/);
  });
});

describe("the S3 client of session recordings", () => {
  test("through the proxy; a dead proxy is named", async () => {
    const hits: number[] = [];
    const fakeS3 = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req, srv) {
        hits.push(srv.requestIP(req)?.port ?? 0);
        return new Response("<Error><Code>NoSuchKey</Code><Message>none</Message></Error>", {
          status: 404,
          headers: { "content-type": "application/xml" },
        });
      },
    });
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: "AKIAEGRESSTEST000001",
      AWS_SECRET_ACCESS_KEY: "secret",
    });
    const hosts = { "s3.proxy.test": "127.0.0.1" };
    const s3proxy = await startConnectProxy({ hosts });
    try {
      const store = (egress: Egress) =>
        s3Store({
          bucket: "recordings",
          prefix: "",
          endpoint: `http://s3.proxy.test:${fakeS3.port}`,
          egress,
        });
      expect(await store(through(s3proxy.url)).get("01890a5d-ac96-774b-bcce-b302099a8057")).toBeUndefined();
      expect(hits.length).toBeGreaterThan(0);
      expect(s3proxy.upstreamPorts().has(hits.at(-1)!)).toBe(true);
      await expect(store(through(dead)).get("01890a5d-ac96-774b-bcce-b302099a8057")).rejects.toThrow(
        `proxy ${dead} (HTTP_PROXY) for s3.proxy.test:${fakeS3.port}: cannot reach the proxy`,
      );
      // Writes (a recording's chunks) go by fetch: through the same proxy, and a dead one is named.
      const meta = {
        version: 1 as const,
        sid: "01890a5d-ac96-774b-bcce-b302099a8058",
        kind: "exec" as const,
        user: "u",
        cluster: "c",
        namespace: "n",
        pod: "p",
        tty: false,
        started: new Date().toISOString(),
      };
      const before = hits.length;
      await expect(store(through(s3proxy.url)).create(meta)).rejects.toThrow();
      expect(hits.length).toBeGreaterThan(before);
      expect(s3proxy.upstreamPorts().has(hits.at(-1)!)).toBe(true);
      await expect(store(through(dead)).create(meta)).rejects.toThrow(
        `proxy ${dead} (HTTP_PROXY) for s3.proxy.test:${fakeS3.port}: cannot reach the proxy`,
      );
    } finally {
      process.env = saved;
      fakeS3.stop(true);
      await s3proxy.stop();
    }
  });
});
