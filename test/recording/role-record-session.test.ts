// Recording mode per role (issue 11: record_session as a role option, Teleport's
// options.record_session.default): each role that reaches the cluster counts as its own mode, or as
// audit.record_session when it sets none, and the strictest wins — over real kubectl exec.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { AUDIT_STREAM, type AuditEvent } from "../../src/audit/index.ts";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { eksCredentials } from "../../src/gateway/index.ts";
import { fileStore } from "../../src/recording/index.ts";
import type { Resource, Role } from "../../src/registry/index.ts";
import { startDevProdSim, startTestGateway, type TestGateway, testRoles } from "../gateway/fixture.ts";
import { type KubectlEnv, kubectl, kubectlEnv, kubectlRerunOnClientRace } from "../helpers/kubectl.ts";

const ISSUER = kubeportIssuer({ public_addr: "localhost:3080" });

const role = (name: string, mode: "off" | "best_effort" | "strict"): Role => ({
  kind: "role",
  version: "v1",
  metadata: { name },
  spec: {
    allow: { kubernetes_labels: { env: "dev" }, kubernetes_groups: ["developers"] },
    options: { record_session: { default: mode } },
  },
});

const user = (name: string, roles: string[]): Resource => ({
  kind: "user",
  version: "v1",
  metadata: { name },
  spec: { roles, created: new Date().toISOString() },
});

const RESOURCES: Resource[] = [
  ...testRoles,
  role("dev-strict", "strict"),
  role("dev-recorded", "best_effort"),
  role("dev-unrecorded", "off"),
  user("alice", ["dev", "dev-strict"]),
  user("dave", ["dev-recorded"]),
  user("erin", ["dev"]),
  user("bob", ["dev-unrecorded"]),
  user("carol", ["dev", "dev-unrecorded"]),
];

let sims: Awaited<ReturnType<typeof startDevProdSim>>;
const gateways: TestGateway[] = [];
const envs: KubectlEnv[] = [];

beforeAll(async () => {
  sims = await startDevProdSim();
}, 60_000);
afterAll(async () => {
  for (const e of envs) e.cleanup();
  for (const g of gateways) await g.close();
  await sims?.close();
}, 60_000);

async function gateway(auditYaml: string) {
  const gw = await startTestGateway({
    realAuth: true,
    credentials: eksCredentials(),
    clusters: sims.clusters,
    resources: RESOURCES,
    extraYaml: `audit:\n${auditYaml}`,
  });
  gateways.push(gw);
  return gw;
}

async function as(gw: TestGateway, name: string): Promise<KubectlEnv> {
  const token = await issueUserToken(gw.backend, { user: name, issuer: ISSUER });
  const env = kubectlEnv({ server: `${gw.gateway.url}/v1/clusters/dev-a`, token, caPem: gw.gateway.caPem! });
  envs.push(env);
  return env;
}

/** The session.start of `name`'s exec of `echo WORD`, once on record. */
async function sessionStart(gw: TestGateway, name: string, word: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rows = await gw.backend.readStream(AUDIT_STREAM, { limit: 100_000 });
    const hit = rows
      .map((r) => r.entry as AuditEvent & Record<string, unknown>)
      .find(
        (e) =>
          e.event === "session.start" &&
          e.user === name &&
          (e.initial_command as string[] | undefined)?.includes(word),
      );
    if (hit || Date.now() > deadline) return hit;
    await Bun.sleep(100);
  }
}

async function events(gw: TestGateway, sid: string) {
  const rows = await gw.backend.readStream(AUDIT_STREAM, { limit: 100_000 });
  return rows.map((r) => r.entry as AuditEvent & { sid?: string }).filter((e) => e.sid === sid);
}

describe("audit.record_session: off — a role's option still records its holders", () => {
  test.each<[string, string, string]>([
    ["dave", "a role saying best_effort", "best_effort"],
    ["erin", "roles saying nothing", "off"],
  ])(
    "%s (%s): session recorded %s",
    async (name, _, mode) => {
      const gw = await gateway("  record_session: off\n");
      const word = `rec-${name}`;
      // echo ends at once: kubectl 1.32's own stream race can lose its output (test/helpers/kubectl.ts).
      const r = await kubectlRerunOnClientRace(await as(gw, name), ["exec", "web-0", "--", "echo", word], {
        timeoutMs: 60_000,
      });
      expect(r.stdout).toContain(word);
      const start = await sessionStart(gw, name, word);
      expect(start).toMatchObject({ session_recording: mode });
      const store = fileStore(join(gw.dir, "recordings"));
      const sid = start!.sid as string;
      if (mode === "off") {
        expect(await store.get(sid)).toBeUndefined();
        return;
      }
      // The recording holds what the pod wrote, with an end once the session closed.
      const deadline = Date.now() + 20_000;
      let info = await store.get(sid);
      while (!info?.end && Date.now() < deadline) {
        await Bun.sleep(100);
        info = await store.get(sid);
      }
      expect(info).toMatchObject({ sid, user: name, cluster: "dev-a", end: expect.anything() });
      const chunks: Uint8Array[] = [];
      for await (const c of store.chunks(sid)) chunks.push(c);
      expect(Buffer.concat(chunks).toString()).toContain(word);
    },
    90_000,
  );
});

describe("audit.record_session: best_effort with a store that cannot be written", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // A directory that cannot be made (even by root): /proc takes no new entries.
    gw = await gateway('  record_session: best_effort\n  sessions_uri: "file:///proc/kubeport-recordings"\n');
  }, 60_000);

  test("alice (dev + dev-strict): strict wins — refused naming the role, nothing runs in the pod", async () => {
    const before = sims.dev.execs().length;
    const r = await kubectl(await as(gw, "alice"), ["exec", "web-0", "--", "echo", "never"], {
      timeoutMs: 60_000,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot be recorded (role "dev-strict" options.record_session: strict)`);
    expect(r.stdout).not.toContain("never");
    expect(sims.dev.execs().length).toBe(before);
  }, 90_000);

  test.each<[string, string, string]>([
    ["erin", "dev: the config's best_effort", "best_effort"],
    ["carol", "dev + dev-unrecorded: best_effort wins over off", "best_effort"],
    ["bob", "dev-unrecorded alone: off", "off"],
  ])(
    "%s (%s): the session runs, recording %s",
    async (name, _, mode) => {
      const word = `ran-${name}`;
      // echo ends at once: kubectl 1.32's own stream race can lose its output (test/helpers/kubectl.ts).
      const r = await kubectlRerunOnClientRace(await as(gw, name), ["exec", "web-0", "--", "echo", word], {
        timeoutMs: 60_000,
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(word);
      const start = await sessionStart(gw, name, word);
      expect(start).toMatchObject({ session_recording: mode });
      // best_effort tried the store and said it failed; off never tried (read once the session ended).
      const deadline = Date.now() + 20_000;
      let evs = await events(gw, start!.sid as string);
      while (!evs.some((e) => e.event === "session.end") && Date.now() < deadline) {
        await Bun.sleep(100);
        evs = await events(gw, start!.sid as string);
      }
      expect(evs.some((e) => e.event === "session.end")).toBe(true);
      const failed = evs.some((e) => e.code === "K2011E");
      expect(failed).toBe(mode === "best_effort");
    },
    90_000,
  );
});
