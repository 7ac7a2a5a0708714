// The S3 store writes through Bun's native S3 client (src/recording/bun-s3.ts) with the AWS SDK's
// credential chain: a credential that rotates (credential_process with a short expiry, as SSO or an
// assumed role hands out) is the one the next chunk is signed with, and the endpoint comes from the
// standard setting (AWS_ENDPOINT_URL_S3). The store is an endpoint on loopback that keeps what each
// request carried.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { s3Store } from "../../src/recording/index.ts";

interface Seen {
  method: string;
  path: string;
  userAgent: string;
  payloadHash: string;
  keyId: string;
  token: string;
  bytes: number;
}

const seen: Seen[] = [];
let server: ReturnType<typeof Bun.serve>;
let dir: string;

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = await req.arrayBuffer();
      seen.push({
        method: req.method,
        path: new URL(req.url).pathname,
        userAgent: req.headers.get("user-agent") ?? "",
        payloadHash: req.headers.get("x-amz-content-sha256") ?? "",
        keyId: /Credential=([^/]+)\//.exec(req.headers.get("authorization") ?? "")?.[1] ?? "",
        token: req.headers.get("x-amz-security-token") ?? "",
        bytes: body.byteLength,
      });
      return new Response("", { headers: { etag: '"0"' } });
    },
  });
  dir = mkdtempSync(join(tmpdir(), "kp-s3-native-"));
});

afterAll(() => {
  server?.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

const meta = {
  version: 1 as const,
  sid: "01890a5d-ac96-774b-bcce-b302099a8059",
  kind: "exec" as const,
  user: "alice",
  cluster: "dev",
  namespace: "default",
  pod: "web-0",
  tty: false,
  started: new Date().toISOString(),
};

describe("S3 writes through Bun's client, credentials from the AWS SDK's chain", () => {
  test("a rotated credential signs the next chunk; the endpoint is AWS_ENDPOINT_URL_S3's; the payload is not hashed", async () => {
    // credential_process (the SDK chain's ini/process providers): the key in `current`, expiring in
    // a minute, so the SDK resolves it again before each request (its refresh window is 5 minutes).
    const current = join(dir, "current");
    const helper = join(dir, "credentials.sh");
    writeFileSync(current, "1");
    writeFileSync(
      helper,
      `#!/bin/sh\nn=$(cat ${current})\nexp=$(date -u -d @$(( $(date +%s) + 60 )) +%Y-%m-%dT%H:%M:%SZ)\n` +
        `printf '{"Version":1,"AccessKeyId":"AKIAROTATE%s","SecretAccessKey":"secret%s","SessionToken":"token%s","Expiration":"%s"}' "$n" "$n" "$n" "$exp"\n`,
    );
    chmodSync(helper, 0o755);
    const config = join(dir, "config");
    writeFileSync(config, `[default]\ncredential_process = ${helper}\nregion = us-east-1\n`);
    const saved = { ...process.env };
    for (const k of Object.keys(process.env)) if (k.startsWith("AWS_")) delete process.env[k];
    Object.assign(process.env, {
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-credentials"),
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${server.port}`,
    });
    try {
      const store = s3Store({ bucket: "recordings", prefix: "native/" });
      const w = await store.create(meta);
      await w.write(1, [new Uint8Array(100_000), new Uint8Array(5)]);
      writeFileSync(current, "2");
      // The SDK's chain hands out the still-valid identity while it fetches the next one in the
      // background: the rotated one signs a chunk soon after, and every chunk from then on.
      let seq = 1;
      const deadline = Date.now() + 30_000;
      while (seen.at(-1)?.keyId !== "AKIAROTATE2" && Date.now() < deadline) {
        await w.write(++seq, [new Uint8Array(7)]);
        await Bun.sleep(20);
      }
      await w.write(++seq, [new Uint8Array(9)]);
      await w.finish({ ended: new Date().toISOString(), duration_ms: 1, bytes: 100_012, chunks: seq });
    } finally {
      process.env = saved;
    }
    const puts = seen.filter((s) => s.method === "PUT");
    expect(puts.slice(0, 2).map((s) => [s.path, s.bytes, s.keyId, s.token])).toEqual([
      [`/recordings/native/${meta.sid}/session.json`, expect.any(Number), "AKIAROTATE1", "token1"],
      [`/recordings/native/${meta.sid}/chunks/0000000001`, 100_005, "AKIAROTATE1", "token1"],
    ]);
    expect(puts.slice(-2).map((s) => [s.path, s.bytes, s.keyId, s.token])).toEqual([
      [
        `/recordings/native/${meta.sid}/chunks/${String(puts.length - 2).padStart(10, "0")}`,
        9,
        "AKIAROTATE2",
        "token2",
      ],
      [`/recordings/native/${meta.sid}/end.json`, expect.any(Number), "AKIAROTATE2", "token2"],
    ]);
    // Each request signed with one identity: key and session token from the same resolution.
    for (const p of puts) expect(p.token).toBe(p.keyId.replace("AKIAROTATE", "token"));
    // Bun's client sent them, signing without hashing the payload.
    for (const p of puts) {
      expect(p.userAgent).toStartWith("Bun/");
      expect(p.payloadHash).toBe("UNSIGNED-PAYLOAD");
    }
  }, 60_000);
});
