// An S3-compatible server on loopback for tests (s3rver, from npm), behind a switch that can make it
// answer 500 or refuse connections, as a failing store would. Reached only through standard settings:
// an s3:// sessions_uri with endpoint=, and credentials in the environment.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
// s3rver keeps its access keys in one registry; a test adds the keys its clients sign with.
import { DUMMY_ACCOUNT } from "s3rver/lib/models/account.js";

export type S3Mode = "ok" | "500" | "down";

export interface TestS3 {
  /** The endpoint clients use (the switch in front of s3rver). */
  endpoint: string;
  bucket: string;
  /** An s3:// sessions_uri for this bucket and prefix. */
  uri(prefix?: string): string;
  /** ok: pass requests on; 500: answer InternalError; down: refuse connections. */
  set(mode: S3Mode): void;
  /**
   * A slow store: each PUT is answered `ms(bytes)` after its body arrived (undefined: at once), as
   * S3's per-request latency and per-connection bandwidth make a big PUT take its time.
   */
  slowPuts(ms: ((bytes: number) => number) | undefined): void;
  /** The most PUTs the switch held at once since slowPuts was last called (a client's uploads in flight). */
  maxPutsInFlight(): number;
  /** Requests that reached the switch. */
  requests(): number;
  stop(): Promise<void>;
}

/** Starts s3rver with `bucket`, accepting the access key `accessKeyId`/`secret` (the process's, usually). */
export async function startS3({
  bucket = "recordings",
  accessKeyId = process.env.AWS_ACCESS_KEY_ID ?? "S3RVER",
  secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY ?? "S3RVER",
}: {
  bucket?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
} = {}): Promise<TestS3> {
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  const dir = mkdtempSync(join(tmpdir(), "kubeport-s3-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = (await server.run()) as { port: number };
  const direct = `http://127.0.0.1:${port}`;
  let mode: S3Mode = "ok";
  let count = 0;
  let putDelay: ((bytes: number) => number) | undefined;
  let puts = 0;
  let maxPuts = 0;
  const front = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 60,
    async fetch(req) {
      count++;
      if (mode === "500")
        return new Response(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>test: store failing</Message></Error>',
          { status: 500, headers: { "content-type": "application/xml" } },
        );
      const u = new URL(req.url);
      const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
      const put = req.method === "PUT";
      if (put) maxPuts = Math.max(maxPuts, ++puts);
      try {
        const delay = put && body ? putDelay?.(body.byteLength) : undefined;
        if (delay) await Bun.sleep(delay);
        const res = await fetch(direct + u.pathname + u.search, {
          method: req.method,
          headers: req.headers,
          ...(body ? { body } : {}),
          redirect: "manual",
        });
        return new Response(res.body, { status: res.status, headers: res.headers });
      } finally {
        if (put) puts--;
      }
    },
  });
  // "down": the switch stops listening; its port is kept so the same endpoint comes back.
  let stoppedFront = false;
  let frontPort = front.port!;
  let current: ReturnType<typeof Bun.serve> | undefined = front;
  const serveAt = (p: number) =>
    Bun.serve({ hostname: "127.0.0.1", port: p, idleTimeout: 60, fetch: front.fetch.bind(front) as never });
  return {
    endpoint: `http://127.0.0.1:${frontPort}`,
    bucket,
    uri: (prefix = "kubeport") =>
      `s3://${bucket}/${prefix}?region=us-east-1&endpoint=http://127.0.0.1:${frontPort}`,
    set(m) {
      mode = m;
      if (m === "down" && !stoppedFront) {
        stoppedFront = true;
        current?.stop(true);
        current = undefined;
      } else if (m !== "down" && stoppedFront) {
        stoppedFront = false;
        current = serveAt(frontPort);
        frontPort = current.port!;
      }
    },
    slowPuts(ms) {
      putDelay = ms;
      maxPuts = puts;
    },
    maxPutsInFlight: () => maxPuts,
    requests: () => count,
    async stop() {
      current?.stop(true);
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
