// A slow S3 store under a fast session (issue 11): a pod writing as fast as the relay goes (~60–230
// MiB/s here, by load), recorded to an S3-compatible store whose every PUT takes 10 ms plus its size
// at 64 MB/s (S3's per-request latency and per-connection bandwidth, exaggerated). One chunk upload
// at a time drains ≤ 61 MiB/s, so a session at 230 MiB/s fell more than 32 MiB behind and its
// recording stopped early — which under record_session: strict ended the user's session — and the
// end record was written before the last chunk landed (playback came up short at any speed). Four
// uploads in flight drain ~210 MiB/s and have 32 MiB of slack besides: they keep up with a session
// up to ~580 MiB/s. The store is reached only through the endpoint setting.
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { eksCredentials } from "../../src/gateway/index.ts";
import {
  FRAME,
  FrameBuffer,
  fileStore,
  openRecordingStore,
  readFrames,
  s3Options,
  s3Store,
  startRecorder,
} from "../../src/recording/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import { startDevProdSim, startTestGateway, type TestGateway, testRoles } from "../gateway/fixture.ts";
import { startS3, type TestS3 } from "../helpers/s3.ts";
import { openExec } from "./exec-client.ts";

const MiB = 1024 * 1024;
/** The product's default recording_max_bytes. */
const CAP = 64 * MiB;

let sims: Awaited<ReturnType<typeof startDevProdSim>>;
let s3: TestS3;
let gw: TestGateway | undefined;

beforeAll(async () => {
  sims = await startDevProdSim();
  // After the sim: the gateway's AWS credentials (the sim's) are the ones the S3 server accepts.
  s3 = await startS3();
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await s3?.stop();
  await sims?.close();
}, 60_000);

const alice: Resource = {
  kind: "user",
  version: "v1",
  metadata: { name: "alice" },
  spec: { roles: ["dev"], created: new Date().toISOString() },
};

describe("a slow S3 store and a fast session", () => {
  test("strict: the session is not ended, and its recording holds every byte up to the cap (played back)", async () => {
    const uri = s3.uri(`slow-${crypto.randomUUID()}`);
    gw = await startTestGateway({
      realAuth: true,
      credentials: eksCredentials(),
      clusters: sims.clusters,
      resources: [...testRoles, alice],
      extraYaml: `audit:\n  record_session: strict\n  sessions_uri: "${uri}"\n`,
    });
    const token = await issueUserToken(gw.backend, {
      user: "alice",
      issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
    });
    s3.slowPuts((bytes) => 10 + bytes / 64_000);
    onTestFinished(() => s3.slowPuts(undefined));
    const total = 96 * MiB;
    const started = performance.now();
    const s = await openExec(
      `${gw.gateway.url.replace("https", "wss")}/v1/clusters/dev-a/api/v1/namespaces/default/pods/web-0/exec?command=head&command=-c&command=${total}&command=/dev/zero&stdout=true`,
      token,
      gw.gateway.caPem!,
    );
    const end = await s.closed;
    const seconds = (performance.now() - started) / 1000;
    // What the test ran at (a loaded machine is slower: the store keeps up the more easily).
    console.log(
      `slow-store: ${(total / MiB / seconds).toFixed(0)} MiB/s of output; at most ${s3.maxPutsInFlight()} PUTs in flight`,
    );
    expect(s.status() ?? "").not.toContain("cannot be recorded");
    expect(end.code).toBe(1000);
    expect(s.exitCode()).toBe(0);
    expect(s.stdoutBytes()).toBe(total);

    const sid = await s.sid(gw.backend);
    const store = openRecordingStore(uri);
    const deadline = Date.now() + 60_000;
    let info = await store.get(sid);
    while (!info?.end && Date.now() < deadline) {
      await Bun.sleep(200);
      info = await store.get(sid);
    }
    expect(info?.end).toBeDefined();
    expect(info!.end!.bytes).toBe(CAP);
    expect(info!.end!.stopped).toContain("audit.recording_max_bytes");

    // Played back: every output byte up to the cap, in order, then the marker saying why it stopped.
    let output = 0;
    let nonZero = 0;
    let last: number | undefined;
    for await (const f of readFrames(store.chunks(sid))) {
      last = f.type;
      if (f.type !== FRAME.output) continue;
      output += f.data.byteLength;
      for (let i = 0; i < f.data.byteLength; i += 4096) if (f.data[i] !== 0) nonZero++;
    }
    expect(output).toBe(CAP);
    expect(nonZero).toBe(0);
    expect(last).toBe(FRAME.marker);
  }, 180_000);
});

/** Session metadata for a recording made in this process. */
const meta = () => ({
  version: 1 as const,
  sid: Bun.randomUUIDv7(),
  kind: "exec" as const,
  user: "alice",
  cluster: "dev-a",
  namespace: "default",
  pod: "web-0",
  tty: false,
  started: new Date().toISOString(),
});

/** One chunk holding one output frame of `text`. */
const chunkOf = (text: string) => {
  const f = new FrameBuffer();
  f.push(FRAME.output, 0, new TextEncoder().encode(text));
  return f.take();
};

async function playText(store: ReturnType<typeof s3Store>, sid: string) {
  let text = "";
  let error: string | undefined;
  try {
    for await (const f of readFrames(store.chunks(sid))) text += new TextDecoder().decode(f.data);
  } catch (err) {
    error = (err as Error).message;
  }
  return { text, error };
}

describe("chunks in flight at once", () => {
  test("a chunk that landed after a missing one is never played: the recording plays up to the hole, and one with an end record says a chunk is missing", async () => {
    const store = s3Store(s3Options(s3.uri(`holes-${crypto.randomUUID()}`)));
    const m = meta();
    const w = await store.create(m);
    await w.write(1, chunkOf("one "));
    await w.write(3, chunkOf("three "));
    // A gateway killed while chunk 2 was on its way: no end record; playback stops before the hole.
    expect(await playText(store, m.sid)).toEqual({ text: "one ", error: undefined });
    // An end record counts 3 chunks, yet chunk 2 is not there: the reader says so after chunk 1.
    await w.finish({ ended: new Date().toISOString(), duration_ms: 1, bytes: 10, chunks: 3 });
    const played = await playText(store, m.sid);
    expect(played.text).toBe("one ");
    expect(played.error).toContain("missing chunk 2 of 3");
    await w.write(2, chunkOf("two "));
    expect(await playText(store, m.sid)).toEqual({ text: "one two three ", error: undefined });
  }, 60_000);

  test("a store that cannot keep up: a few uploads in flight, then the recording fails naming the bound, holding no more than it", async () => {
    s3.slowPuts((bytes) => (bytes > 10_000 ? 30_000 : 0));
    try {
      const store = s3Store(s3Options(s3.uri(`stuck-${crypto.randomUUID()}`)));
      const failures: string[] = [];
      const rec = await startRecorder({
        store,
        meta: meta(),
        maxBytes: 256 * MiB,
        onFailure: (m) => failures.push(m),
      });
      // 32 KiB frames as the relay hands them over, until the recorder gives up.
      let fed = 0;
      while (failures.length === 0 && fed < 128 * MiB) {
        const f = new Uint8Array(32 * 1024 + 1);
        f[0] = 1;
        rec.fromUpstream(f);
        fed += 32 * 1024;
        if (fed % (4 * MiB) === 0) await Bun.sleep(1);
      }
      expect(failures).toEqual([
        expect.stringContaining(
          "is too slow: more than 32 MiB waiting to be written behind 4 chunk uploads in flight",
        ),
      ]);
      // 4 chunks of 4 MiB in flight and 32 MiB waiting: what the session held when it gave up.
      expect(fed).toBeLessThanOrEqual(16 * MiB + 32 * MiB + 64 * 1024);
      const deadline = Date.now() + 20_000;
      while (s3.maxPutsInFlight() < 4 && Date.now() < deadline) await Bun.sleep(50);
      expect(s3.maxPutsInFlight()).toBe(4);
    } finally {
      s3.slowPuts(undefined);
    }
  }, 90_000);

  test("one write at a time (the file store): a writer behind catches up with everything waiting in one write", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kp-slow-file-"));
    try {
      const files = fileStore(dir);
      const writes: number[] = [];
      // The real file store, its writes counted (and sizes kept).
      const store: typeof files = {
        ...files,
        async create(m) {
          const w = await files.create(m);
          return {
            ...w,
            write: (seq, chunk) => {
              writes.push(chunk.reduce((n, c) => n + c.byteLength, 0));
              return w.write(seq, chunk);
            },
          };
        },
      };
      const m = meta();
      const rec = await startRecorder({ store, meta: m, maxBytes: 64 * MiB });
      // 24 MiB at once: the first 4 MiB go out, the other 20 wait for that write to finish.
      for (let i = 0; i < 24 * 32; i++) {
        const f = new Uint8Array(32 * 1024 + 1);
        f[0] = 1;
        rec.fromUpstream(f);
      }
      await rec.close({});
      expect(writes.length).toBe(2);
      expect(writes[1]!).toBeGreaterThan(16 * MiB);
      expect(statSync(join(dir, m.sid, "frames.bin")).size).toBe(24 * (MiB + 32 * 9));
      expect((await files.get(m.sid))?.end).toMatchObject({ bytes: 24 * MiB, chunks: 2 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
