// Session recordings (issue 11), the SAME tests against both stores — files in data_dir and S3 (an
// S3-compatible server on loopback through the AWS SDK) — through a real gateway and simulated EKS:
// interactive and non-interactive exec recorded and replayed (asciicast v2, text, JSON), chunks
// written while the session runs, the byte cap on a 200 MB terminal flood, and who may see what.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AUDIT_STREAM, type AuditEvent } from "../../src/audit/index.ts";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { eksCredentials } from "../../src/gateway/index.ts";
import { encodeFrame, FRAME, s3Options, s3Store } from "../../src/recording/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import { startDevProdSim, startTestGateway, type TestGateway, testRoles } from "../gateway/fixture.ts";
import { runCliCaptured } from "../helpers/cli.ts";
import { startS3, type TestS3 } from "../helpers/s3.ts";
import { openExec } from "./exec-client.ts";

const ISSUER = kubeportIssuer({ public_addr: "localhost:3080" });
const CAP = 8 * 1024 * 1024;

let sims: Awaited<ReturnType<typeof startDevProdSim>>;
let s3: TestS3;

beforeAll(async () => {
  sims = await startDevProdSim();
  // After the sim: the gateway's AWS credentials (the sim's) are the ones the S3 server accepts.
  s3 = await startS3();
}, 60_000);
afterAll(async () => {
  await s3?.stop();
  await sims?.close();
});

const user = (name: string, roles = ["dev"]): Resource => ({
  kind: "user",
  version: "v1",
  metadata: { name },
  spec: { roles, created: new Date().toISOString() },
});
const reviewer: Resource = {
  kind: "role",
  version: "v1",
  metadata: { name: "auditor" },
  spec: { allow: { review_recordings: true } },
};

interface Listed {
  sid: string;
  user: string;
  cluster: string;
  pod: string;
  tty: boolean;
  end?: { bytes: number; stopped?: string };
}

describe.each(["file", "s3"] as const)("session recordings (%s store)", (store) => {
  let gw: TestGateway;
  const tokens: Record<string, string> = {};
  const prefix = `kp-${crypto.randomUUID()}`;
  const ctl = (...args: string[]) => runCliCaptured(["ctl", "-c", gw.configPath, ...args], { env: {} });
  const kp = (...args: string[]) => runCliCaptured(args, { env: {} });

  beforeAll(async () => {
    gw = await startTestGateway({
      realAuth: true,
      credentials: eksCredentials(),
      clusters: sims.clusters,
      resources: [...testRoles, reviewer, user("alice"), user("bob"), user("carol", ["dev", "auditor"])],
      extraYaml: `audit:\n  recording_max_bytes: ${CAP}\n${store === "s3" ? `  sessions_uri: "${s3.uri(prefix)}"\n` : ""}`,
    });
    for (const name of ["alice", "bob", "carol"])
      tokens[name] = await issueUserToken(gw.backend, { user: name, issuer: ISSUER });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  const execUrl = (q: string) =>
    `${gw.gateway.url.replace("https", "wss")}/v1/clusters/dev-a/api/v1/namespaces/default/pods/web-0/exec?${q}`;

  /** The session's recording as `ctl recordings ls` lists it, once it has an end (or `pred` holds). */
  async function recordingOf(sid: string, pred: (r: Listed) => boolean = (r) => r.end !== undefined) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await ctl("recordings", "ls", "--format", "json");
      expect(r.code, r.stderr).toBe(0);
      const hit = (JSON.parse(r.stdout) as Listed[]).find((x) => x.sid === sid);
      if (hit && pred(hit)) return hit;
      if (Date.now() > deadline) throw new Error(`recording ${sid}: ${JSON.stringify(hit)}`);
      await Bun.sleep(100);
    }
  }

  async function auditEvents(): Promise<AuditEvent[]> {
    return (await gw.backend.readStream(AUDIT_STREAM, { limit: 100_000 })).map((r) => r.entry as AuditEvent);
  }

  async function waitAudit(pred: (e: AuditEvent) => boolean): Promise<AuditEvent | undefined> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const hit = (await auditEvents()).find(pred);
      if (hit || Date.now() > deadline) return hit;
      await Bun.sleep(100);
    }
  }

  test("an interactive exec is recorded with its timing and resizes, and plays back as asciicast v2, text and JSON", async () => {
    const s = await openExec(
      execUrl("command=cat&stdin=true&stdout=true&tty=true"),
      tokens.alice!,
      gw.gateway.caPem!,
    );
    s.resize(100, 30);
    s.type("hello\r");
    await s.waitOutput((o) => o.split("hello").length >= 3);
    await Bun.sleep(300);
    s.resize(120, 40);
    s.type("world\r");
    await s.waitOutput((o) => o.includes("world\r\nworld"));
    s.type("\x04");
    await s.closed;
    const sid = await s.sid(gw.backend);
    const rec = await recordingOf(sid);
    expect(rec).toMatchObject({ user: "alice", cluster: "dev-a", pod: "web-0", tty: true });

    const cast = await ctl("recordings", "export", sid);
    expect(cast.code, cast.stderr).toBe(0);
    const [header, ...lines] = cast.stdout.trim().split("\n");
    expect(JSON.parse(header!)).toMatchObject({ version: 2, width: 100, height: 30, command: "cat" });
    const events = lines.map((l) => JSON.parse(l) as [number, string, string]);
    for (let i = 1; i < events.length; i++) expect(events[i]![0]).toBeGreaterThanOrEqual(events[i - 1]![0]);
    expect(events.filter((e) => e[1] === "r").map((e) => e[2])).toEqual(["100x30", "120x40"]);
    const output = events
      .filter((e) => e[1] === "o")
      .map((e) => e[2])
      .join("");
    expect(output).toContain("hello\r\nhello\r\n");
    expect(output).toContain("world\r\nworld\r\n");
    // A TTY's keystrokes are not kept (passwords): what was echoed is in the output.
    expect(events.some((e) => e[1] === "i")).toBe(false);
    // "world" came ≥ 300 ms after "hello".
    const at = (w: string) => events.find((e) => e[1] === "o" && e[2].includes(w))![0];
    expect(at("world") - at("hello")).toBeGreaterThanOrEqual(0.25);

    const text = await kp("play", "-c", gw.configPath, sid, "--format", "text");
    expect(text.stdout).toContain("hello\nhello\n");
    const json = await kp("play", "-c", gw.configPath, sid, "--format", "json");
    expect(
      json.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).type),
    ).toContain("resize");
    const played = await kp("play", "-c", gw.configPath, sid, "--speed", "1000");
    expect(played.code, played.stderr).toBe(0);
    expect(played.stdout).toContain("world\r\nworld\r\n");

    // The audit trail has the resizes and the recording mode under the same sid (appended in
    // batches: wait for the end, the last of them).
    await waitAudit((e) => (e as { sid?: string }).sid === sid && e.event === "session.end");
    const mine = (await auditEvents()).filter((e) => (e as { sid?: string }).sid === sid);
    // The terminal's first size is in session.start (as Teleport's), later ones are resize events.
    expect(mine.map((e) => e.event)).toEqual([
      "session.start",
      "resize",
      "exec",
      "session.data",
      "session.end",
    ]);
    expect(mine[0]).toMatchObject({ interactive: true, session_recording: "best_effort", size: "100:30" });
    expect(mine[1]).toMatchObject({ size: "120:40" });
    expect(mine.map((e) => (e as { ei?: number }).ei)).toEqual([0, 1, 2, 3, 4]);
  }, 60_000);

  test("stdin sent as many messages is recorded byte for byte (the recorder keeps each message by reference)", async () => {
    const s = await openExec(
      execUrl("command=cat&stdin=true&stdout=true&stderr=true"),
      tokens.alice!,
      gw.gateway.caPem!,
    );
    const sent = Array.from({ length: 300 }, (_, i) => `${String.fromCharCode(33 + (i % 90)).repeat(999)}\n`);
    for (const m of sent) s.stdin(m);
    const all = sent.join("");
    await s.waitOutput((o) => o.length >= all.length, 30_000);
    s.closeStdin();
    await s.closed;
    const sid = await s.sid(gw.backend);
    await recordingOf(sid);
    const cast = await ctl("recordings", "export", sid);
    const events = cast.stdout
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => JSON.parse(l) as [number, string, string]);
    expect(
      events
        .filter((e) => e[1] === "i")
        .map((e) => e[2])
        .join(""),
    ).toBe(all);
  }, 60_000);

  test("a non-interactive exec records stdin and stdout", async () => {
    const s = await openExec(
      execUrl("command=cat&stdin=true&stdout=true&stderr=true"),
      tokens.alice!,
      gw.gateway.caPem!,
    );
    s.stdin("abc-123\n");
    await s.waitOutput((o) => o.includes("abc-123"));
    s.closeStdin();
    await s.closed;
    const sid = await s.sid(gw.backend);
    await recordingOf(sid);
    const cast = await ctl("recordings", "export", sid);
    const events = cast.stdout
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => JSON.parse(l) as [number, string, string]);
    expect(
      events
        .filter((e) => e[1] === "i")
        .map((e) => e[2])
        .join(""),
    ).toBe("abc-123\n");
    expect(
      events
        .filter((e) => e[1] === "o")
        .map((e) => e[2])
        .join(""),
    ).toBe("abc-123\r\n");
  }, 60_000);

  test("chunks are written while the session runs, not only at its end", async () => {
    const s = await openExec(
      execUrl("command=cat&stdin=true&stdout=true&tty=true"),
      tokens.alice!,
      gw.gateway.caPem!,
    );
    s.type("still-open\r");
    await s.waitOutput((o) => o.includes("still-open\r\nstill-open"));
    const sid = await s.sid(gw.backend);
    // While the session is open, the recording already holds what it showed.
    const deadline = Date.now() + 15_000;
    let text = "";
    while (!text.includes("still-open") && Date.now() < deadline) {
      text = (await kp("play", "-c", gw.configPath, sid, "--format", "text")).stdout;
      if (!text.includes("still-open")) await Bun.sleep(100);
    }
    expect(text).toContain("still-open");
    expect((await recordingOf(sid, () => true)).end).toBeUndefined();
    s.type("\x04");
    await s.closed;
  }, 60_000);

  test("a pod writing 200 MB through a TTY: the session gets every byte, the recording stops at its cap and says so", async () => {
    const total = 200 * 1024 * 1024;
    const s = await openExec(
      execUrl(`command=head&command=-c&command=${total}&command=/dev/zero&stdout=true&tty=true`),
      tokens.alice!,
      gw.gateway.caPem!,
    );
    await s.closed;
    expect(s.stdoutBytes()).toBe(total);
    expect(s.exitCode()).toBe(0);
    const sid = await s.sid(gw.backend);
    const rec = await recordingOf(sid);
    expect(rec.end!.bytes).toBe(CAP);
    expect(rec.end!.stopped).toContain("recording stopped at");
    const limit = await (async () => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const e = (await auditEvents()).find(
          (x) => (x as { sid?: string }).sid === sid && x.code === "K2010W",
        );
        if (e || Date.now() > deadline) return e;
        await Bun.sleep(100);
      }
    })();
    expect(limit).toMatchObject({ event: "session.recording", bytes: CAP });
    // The recording ends with a marker saying why.
    const cast = await ctl("recordings", "export", sid);
    const last = JSON.parse(cast.stdout.trim().split("\n").at(-1)!) as [number, string, string];
    expect(last[1]).toBe("m");
    expect(last[2]).toContain("audit.recording_max_bytes");
  }, 120_000);

  test("a user sees their own recordings, a review_recordings role everyone's; reading one is audited", async () => {
    const mineOnly = async (who: string) => {
      const s = await openExec(
        execUrl("command=echo&command=from-" + who + "&stdout=true"),
        tokens[who]!,
        gw.gateway.caPem!,
      );
      await s.closed;
      const sid = await s.sid(gw.backend);
      await recordingOf(sid);
      return sid;
    };
    const a = await mineOnly("alice");
    const b = await mineOnly("bob");
    const ls = async (who: string) => {
      const r = await kp(
        "ctl",
        "recordings",
        "ls",
        "--format",
        "json",
        "--token",
        tokens[who]!,
        "--gateway",
        gw.gateway.url,
        "-c",
        gw.configPath,
      );
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as Listed[]).map((x) => x.sid);
    };
    const aliceSees = await ls("alice");
    expect(aliceSees).toContain(a);
    expect(aliceSees).not.toContain(b);
    const carolSees = await ls("carol");
    expect(carolSees).toEqual(expect.arrayContaining([a, b]));
    // Bob cannot read Alice's: not found, as if it did not exist.
    const denied = await kp(
      "play",
      a,
      "--format",
      "text",
      "--token",
      tokens.bob!,
      "--gateway",
      gw.gateway.url,
      "-c",
      gw.configPath,
    );
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("no recording of session");
    const read = await kp(
      "play",
      a,
      "--format",
      "text",
      "--token",
      tokens.carol!,
      "--gateway",
      gw.gateway.url,
      "-c",
      gw.configPath,
    );
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toContain("from-alice");
    const access = await waitAudit(
      (e) => e.event === "session.recording.access" && (e as { sid?: string }).sid === a,
    );
    expect(access).toMatchObject({ code: "T2012I", user: "carol", session_user: "alice" });
  }, 60_000);

  // S3 only: chunks land out of order there, so a recording can miss one (a gateway killed mid-upload).
  test.if(store === "s3")(
    "through the gateway, a recording missing a chunk plays up to it and then says so (not a cut connection); missing its first, an error status",
    async () => {
      const direct = s3Store(s3Options(s3.uri(prefix)));
      const holed = async (chunks: Record<number, string>, count: number) => {
        const sid = Bun.randomUUIDv7();
        const w = await direct.create({
          version: 1,
          sid,
          kind: "exec",
          user: "alice",
          cluster: "dev-a",
          namespace: "default",
          pod: "web-0",
          tty: false,
          started: new Date().toISOString(),
        });
        for (const [seq, text] of Object.entries(chunks))
          await w.write(Number(seq), [encodeFrame(FRAME.output, 5, new TextEncoder().encode(text))]);
        await w.finish({ ended: new Date().toISOString(), duration_ms: 10, bytes: 10, chunks: count });
        return sid;
      };
      const play = (sid: string) =>
        kp(
          "play",
          sid,
          "--format",
          "text",
          "--token",
          tokens.alice!,
          "--gateway",
          gw.gateway.url,
          "-c",
          gw.configPath,
        );
      const mid = await play(await holed({ 1: "one ", 3: "three " }, 3));
      expect(mid.code).toBe(1);
      expect(mid.stdout).toContain("one");
      expect(mid.stdout).not.toContain("three");
      expect(mid.stderr).toContain("is missing chunk 2 of 3");
      const first = await play(await holed({ 2: "two " }, 2));
      expect(first.code).toBe(1);
      expect(first.stdout).not.toContain("two");
      expect(first.stderr).toContain("is missing chunk 1 of 2");
    },
    60_000,
  );
});
