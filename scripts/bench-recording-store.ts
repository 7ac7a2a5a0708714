// bench:recording-store — what writing a session recording costs the gateway per MB recorded, in
// process, without a relay: the recorder tap fed 32 KiB exec frames into the file store and into
// the S3 store (its writes through Bun's S3 client, and through the AWS SDK; an endpoint in a child
// process that reads and drops every upload, so its CPU is not counted), against a bare fetch PUT of the same bytes. CPU is the process's (all threads) and the
// calling thread's alone (the relay's event loop: what a session's throughput waits on).
// Usage: npm run bench:recording-store [-- MB]   (default 128 MB a store, 3 rounds)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileStore, type RecordingStore, s3Store, startRecorder } from "../src/recording/index.ts";

if (process.argv[2] === "sink") {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      await req.arrayBuffer();
      return new Response("", { status: 200, headers: { etag: '"0"' } });
    },
  });
  console.log(server.port);
} else {
  const MB = Number(process.argv[2] ?? 128);
  const ROUNDS = 3;
  const sink = Bun.spawn([process.execPath, import.meta.path, "sink"], { stdout: "pipe", stderr: "inherit" });
  const reader = sink.stdout.getReader();
  const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
  process.env.AWS_ACCESS_KEY_ID ??= "bench";
  process.env.AWS_SECRET_ACCESS_KEY ??= "bench";
  const dir = mkdtempSync(join(tmpdir(), "kubeport-bench-rec-"));
  const thread = () => {
    const f = readFileSync("/proc/thread-self/stat", "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  };
  const frame = 32 * 1024;
  const n = Math.floor((MB * 1024 * 1024) / frame);
  /** Feeds the recorder as the relay would: each frame a fresh buffer (channel 1: stdout). */
  async function record(store: RecordingStore) {
    const rec = await startRecorder({
      store,
      maxBytes: 4 * 1024 ** 3,
      meta: {
        version: 1,
        sid: Bun.randomUUIDv7(),
        kind: "exec",
        user: "bench",
        cluster: "bench",
        namespace: "default",
        pod: "web-0",
        tty: false,
        started: new Date().toISOString(),
      },
    });
    for (let i = 0; i < n; i++) {
      const m = new Uint8Array(frame + 1);
      m[0] = 1;
      rec.fromUpstream(m);
      if (i % 32 === 0) await Bun.sleep(0);
    }
    await rec.close({ exitCode: 0 });
  }
  async function fetchFloor() {
    const chunk = new Uint8Array(4 * 1024 * 1024);
    for (let sent = 0; sent < n * frame; sent += chunk.length) {
      const r = await fetch(`http://127.0.0.1:${port}/floor/${sent}`, { method: "PUT", body: chunk });
      await r.arrayBuffer();
    }
  }
  const cases: [string, () => Promise<void>][] = [
    ["file store", () => record(fileStore(join(dir, "rec")))],
    [
      "s3 store",
      () => record(s3Store({ bucket: "rec", prefix: "b/", endpoint: `http://127.0.0.1:${port}` })),
    ],
    [
      // The same store with its writes through the AWS SDK (KUBEPORT_S3_WRITES=sdk) instead of Bun's
      // native S3 client: A/B in the same rounds.
      "s3 via SDK",
      async () => {
        process.env.KUBEPORT_S3_WRITES = "sdk";
        try {
          await record(s3Store({ bucket: "rec", prefix: "c/", endpoint: `http://127.0.0.1:${port}` }));
        } finally {
          delete process.env.KUBEPORT_S3_WRITES;
        }
      },
    ],
    ["fetch PUT", fetchFloor],
  ];
  const out: Record<string, string[]> = {};
  try {
    for (let r = 0; r < ROUNDS; r++)
      for (const [name, run] of cases) {
        const c0 = process.cpuUsage();
        const t0 = thread();
        await run();
        const c = process.cpuUsage(c0);
        const mb = (n * frame) / 1024 ** 2;
        const row = out[name] ?? [];
        row.push(`${((thread() - t0) / mb).toFixed(2)} / ${((c.user + c.system) / 1000 / mb).toFixed(2)}`);
        out[name] = row;
        rmSync(join(dir, "rec"), { recursive: true, force: true });
      }
    console.log(
      `recording ${MB} MB in 32 KiB frames, CPU ms per MB recorded (event loop / process), ${ROUNDS} rounds:`,
    );
    for (const [name, xs] of Object.entries(out)) console.log(`  ${name.padEnd(11)} ${xs.join("   ")}`);
  } finally {
    sink.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
