// record_session (issue 11): strict refuses a session it cannot record (nothing runs in the pod) and
// ends one whose store fails mid-session with the reason on the exec error channel; best_effort keeps
// the session going and records the failure as an event. Store faults: a recordings directory that
// cannot be made, and an S3-compatible server that is down or answers 500.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AUDIT_STREAM, type AuditEvent } from "../../src/audit/index.ts";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { eksCredentials } from "../../src/gateway/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import { startDevProdSim, startTestGateway, type TestGateway, testRoles } from "../gateway/fixture.ts";
import { type KubectlEnv, kubectl, kubectlEnv } from "../helpers/kubectl.ts";
import { startS3, type TestS3 } from "../helpers/s3.ts";
import { openExec } from "./exec-client.ts";

const ISSUER = kubeportIssuer({ public_addr: "localhost:3080" });

let sims: Awaited<ReturnType<typeof startDevProdSim>>;
let s3: TestS3;
const gateways: TestGateway[] = [];
const envs: KubectlEnv[] = [];

beforeAll(async () => {
  sims = await startDevProdSim();
  s3 = await startS3();
}, 60_000);
afterAll(async () => {
  for (const e of envs) e.cleanup();
  for (const g of gateways) await g.close();
  await s3?.stop();
  await sims?.close();
}, 60_000);

const alice: Resource = {
  kind: "user",
  version: "v1",
  metadata: { name: "alice" },
  spec: { roles: ["dev"], created: new Date().toISOString() },
};

async function gateway(mode: "strict" | "best_effort", uri: string) {
  const gw = await startTestGateway({
    realAuth: true,
    credentials: eksCredentials(),
    clusters: sims.clusters,
    resources: [...testRoles, alice],
    extraYaml: `audit:\n  record_session: ${mode}\n  sessions_uri: "${uri}"\n`,
  });
  gateways.push(gw);
  const token = await issueUserToken(gw.backend, { user: "alice", issuer: ISSUER });
  const env = kubectlEnv({ server: `${gw.gateway.url}/v1/clusters/dev-a`, token, caPem: gw.gateway.caPem! });
  envs.push(env);
  const url = `${gw.gateway.url.replace("https", "wss")}/v1/clusters/dev-a/api/v1/namespaces/default/pods/web-0/exec?command=cat&stdin=true&stdout=true&tty=true`;
  return { gw, token, env, url };
}

async function waitAudit(gw: TestGateway, pred: (e: AuditEvent) => boolean) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rows = await gw.backend.readStream(AUDIT_STREAM, { limit: 100_000 });
    const hit = rows.map((r) => r.entry as AuditEvent).find(pred);
    if (hit || Date.now() > deadline) return hit;
    await Bun.sleep(100);
  }
}

describe("strict: a session that cannot be recorded does not start", () => {
  test.each<[string, () => string, () => void]>([
    // A directory that cannot be made (even by root): /proc takes no new entries.
    ["a recordings directory that cannot be made", () => "file:///proc/kubeport-recordings", () => {}],
    ["an S3 store that is down", () => s3.uri(`strict-down-${crypto.randomUUID()}`), () => s3.set("down")],
  ])(
    "%s: kubectl exec is refused saying why, and nothing runs in the pod",
    async (_, uri, fault) => {
      const { env } = await gateway("strict", uri());
      fault();
      try {
        const before = sims.dev.execs().length;
        const r = await kubectl(env, ["exec", "web-0", "--", "echo", "never"], { timeoutMs: 60_000 });
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain("cannot be recorded (audit.record_session: strict)");
        expect(r.stdout).not.toContain("never");
        expect(sims.dev.execs().length).toBe(before);
      } finally {
        s3.set("ok");
      }
    },
    90_000,
  );
});

describe("a store that fails mid-session", () => {
  test("strict: the session is ended with the reason on the exec error channel", async () => {
    const { gw, token, url } = await gateway("strict", s3.uri(`strict-500-${crypto.randomUUID()}`));
    const s = await openExec(url, token, gw.gateway.caPem!);
    try {
      s.type("before\r");
      await s.waitOutput((o) => o.includes("before\r\nbefore"));
      s3.set("500");
      // Keep the session busy so the recorder has chunks to write.
      const typing = setInterval(() => s.type("x"), 100);
      const end = await s.closed;
      clearInterval(typing);
      expect(end.code).toBe(1000);
      expect(s.status()).toContain("session ended: it cannot be recorded (audit.record_session: strict)");
    } finally {
      s3.set("ok");
    }
    const sid = await s.sid(gw.backend);
    expect(
      await waitAudit(gw, (e) => (e as { sid?: string }).sid === sid && e.code === "K2011E"),
    ).toBeDefined();
    expect(
      await waitAudit(gw, (e) => (e as { sid?: string }).sid === sid && e.event === "client.disconnect"),
    ).toMatchObject({ reason: expect.stringContaining("cannot be recorded") });
  }, 90_000);

  test("best_effort: the session goes on; the failure is an event", async () => {
    const { gw, token, url } = await gateway("best_effort", s3.uri(`best-500-${crypto.randomUUID()}`));
    const s = await openExec(url, token, gw.gateway.caPem!);
    const sid = await s.sid(gw.backend);
    try {
      s.type("before\r");
      await s.waitOutput((o) => o.includes("before\r\nbefore"));
      s3.set("500");
      const typing = setInterval(() => s.type("y"), 100);
      const failed = await waitAudit(gw, (e) => (e as { sid?: string }).sid === sid && e.code === "K2011E");
      clearInterval(typing);
      expect(failed).toMatchObject({
        event: "session.recording",
        message: expect.stringContaining("failed"),
      });
    } finally {
      s3.set("ok");
    }
    // Still alive: what is typed now is echoed.
    s.type("\rafter\r");
    await s.waitOutput((o) => o.split("after").length >= 3);
    s.type("\x04");
    expect((await s.closed).code).toBe(1000);
    expect(s.exitCode()).toBe(0);
  }, 90_000);
});
