// A gateway killed with -9 mid-session leaves a recording playable up to its last second (issue 11):
// chunks are written while the session runs (every 500 ms), not assembled at its end. Runs the real
// `kubeport start` as a child, against both stores.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { AUDIT_STREAM } from "../../src/audit/index.ts";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { openSqliteBackend } from "../../src/registry/index.ts";
import { startDevProdSim, testRoles } from "../gateway/fixture.ts";
import { runCliCaptured, tempConfig } from "../helpers/cli.ts";
import { startS3, type TestS3 } from "../helpers/s3.ts";
import { openExec } from "./exec-client.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
let sims: Awaited<ReturnType<typeof startDevProdSim>>;
let s3: TestS3;
const removers: (() => void)[] = [];

beforeAll(async () => {
  sims = await startDevProdSim();
  s3 = await startS3();
}, 60_000);
afterAll(async () => {
  for (const r of removers) r();
  await s3?.stop();
  await sims?.close();
}, 60_000);

describe.each(["file", "s3"] as const)("kill -9 mid-session (%s store)", (store) => {
  test("what the session showed up to a second before the kill is in the recording, and plays", async () => {
    const uri = store === "s3" ? s3.uri(`crash-${crypto.randomUUID()}`) : undefined;
    const { dir, cfg, remove } = tempConfig(
      "kp-crash-",
      (d) => `version: v1
kubeport:
  data_dir: ${join(d, "data")}
  log: { severity: INFO, format: json }
proxy_service:
  enabled: yes
  listen_addr: 127.0.0.1:0
  public_addr: localhost:3080
kubernetes_service:
  enabled: yes
  resources: [{ labels: { env: dev } }]
${uri ? `audit:\n  sessions_uri: "${uri}"\n` : ""}`,
    );
    removers.push(remove);
    const backend = openSqliteBackend({ path: join(dir, "data", "registry.db") });
    let token = "";
    try {
      for (const c of sims.clusters) await backend.put(c);
      for (const r of testRoles) await backend.put(r);
      await backend.put({
        kind: "user",
        version: "v1",
        metadata: { name: "alice" },
        spec: { roles: ["dev"], created: new Date().toISOString() },
      });
      token = await issueUserToken(backend, {
        user: "alice",
        issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
      });
    } finally {
      await backend.close();
    }
    const child = Bun.spawn([process.execPath, MAIN, "start", "-c", cfg], {
      env: { ...process.env },
      stdout: "ignore",
      stderr: "pipe",
      timeout: 120_000,
    });
    let err = "";
    void (async () => {
      const dec = new TextDecoder();
      for await (const c of child.stderr) err += dec.decode(c, { stream: true });
    })();
    let sid = "";
    try {
      const deadline = Date.now() + 30_000;
      while (!/"url":"https:/.test(err) && Date.now() < deadline) await Bun.sleep(50);
      const url = /"url":"(https:\/\/[^"]+)"/.exec(err)?.[1];
      expect(url, err).toBeDefined();
      const ca = readFileSync(join(dir, "data", "tls", "ca.pem"), "utf8");
      const s = await openExec(
        `${url!.replace("https", "wss")}/v1/clusters/dev-a/api/v1/namespaces/default/pods/web-0/exec?command=cat&stdin=true&stdout=true&tty=true`,
        token,
        ca,
      );
      s.type("before-the-crash\r");
      await s.waitOutput((o) => o.includes("before-the-crash\r\nbefore-the-crash"));
      const reader = openSqliteBackend({ path: join(dir, "data", "registry.db") });
      try {
        sid = await s.sid(reader);
      } finally {
        await reader.close();
      }
      // A second and a half: past the recorder's flush (500 ms) with room for a loaded machine.
      await Bun.sleep(1500);
      child.kill("SIGKILL");
      await child.exited;
      await s.closed;
    } finally {
      child.kill("SIGKILL");
    }
    const text = await runCliCaptured(["play", "-c", cfg, sid, "--format", "text"], {
      env: { ...process.env },
    });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("before-the-crash\nbefore-the-crash");
    const ls = await runCliCaptured(["ctl", "-c", cfg, "recordings", "ls", "--format", "json"], {
      env: { ...process.env },
    });
    const rec = (JSON.parse(ls.stdout) as { sid: string; end?: unknown }[]).find((r) => r.sid === sid);
    // It never got its end record: the gateway died.
    expect(rec).toBeDefined();
    expect(rec!.end).toBeUndefined();
    const cast = await runCliCaptured(["ctl", "-c", cfg, "recordings", "export", sid], {
      env: { ...process.env },
    });
    expect(JSON.parse(cast.stdout.split("\n")[0]!)).toMatchObject({ version: 2 });
    // The audit stream has the start (nothing could write an end).
    const reader = openSqliteBackend({ path: join(dir, "data", "registry.db") });
    try {
      const events = (await reader.readStream(AUDIT_STREAM, { limit: 10_000 })).map(
        (r) => r.entry as { sid?: string; event: string },
      );
      expect(events.filter((e) => e.sid === sid).map((e) => e.event)).toContain("session.start");
    } finally {
      await reader.close();
    }
  }, 120_000);
});
