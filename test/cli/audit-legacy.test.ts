// Audit entries written before the Teleport-named events (`{type: "request"|"session", …}`, as
// kubeport stored them until issue 11) stay in the stream until retention takes them: `ctl audit
// tail|search` show them as readable lines in the current style (not raw JSON), find them by user,
// cluster, type and time, and print them in the current shape with -o json, marked legacy.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join, resolve } from "node:path";
import { AUDIT_STREAM, type AuditEvent, upgradeEntry } from "../../src/audit/index.ts";
import { eventDetails } from "../../src/console/pages/audit.tsx";
import { seedRegistry, tempConfig } from "../helpers/cli.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
const { dir, cfg, remove } = tempConfig("kp-auditlegacy-");
const T0 = "2026-11-20T09:00:00.000Z";
const at = (s: number) => new Date(Date.parse(T0) + s * 1000).toISOString();

beforeAll(async () => {
  await seedRegistry(join(dir, "data", "registry.db"), async (backend) => {
    // Exactly the shapes the old sink wrote (src/gateway/identity.ts RequestAuditEvent / SessionAuditEvent).
    await backend.append(AUDIT_STREAM, {
      type: "request",
      time: at(0),
      user: "alice",
      roles: ["dev"],
      cluster: "prod-web",
      verb: "list",
      resource: "pods",
      namespace: "default",
      status: 200,
      latency_ms: 4,
      bytes_out: 812,
      kubectl_command: "kubectl get",
    });
    await backend.append(AUDIT_STREAM, {
      type: "session",
      kind: "exec",
      phase: "start",
      time: at(1),
      user: "bob",
      cluster: "prod-web",
      namespace: "default",
      pod: "web-0",
      command: ["sh", "-c", "echo\u001b[31m hi\nforged"],
      bytes_in: 0,
      bytes_out: 0,
    });
    await backend.append(AUDIT_STREAM, {
      type: "session",
      kind: "exec",
      phase: "end",
      time: at(2),
      user: "bob",
      cluster: "prod-web",
      namespace: "default",
      pod: "web-0",
      container: "app",
      command: ["sh"],
      bytes_in: 12,
      bytes_out: 345,
      exit_code: 0,
      duration_ms: 1500,
      ended_by: "token expired",
    });
    // A current event next to them.
    await backend.append(AUDIT_STREAM, {
      event: "kube.request",
      code: "T3009I",
      time: at(3),
      uid: "u1",
      user: "alice",
      kubernetes_cluster: "prod-web",
      verb: "GET",
      request_path: "/api/v1/namespaces/default/pods",
      response_code: 200,
      latency_ms: 3,
    });
  });
});
afterAll(remove);

async function ctl(...args: string[]) {
  const p = Bun.spawn([process.execPath, MAIN, "ctl", "-c", cfg, "audit", ...args], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  expect(err).toBe("");
  expect(code).toBe(0);
  return out;
}

describe("old-shape audit entries", () => {
  test("tail shows each as one readable line in the current style, escaped, marked (old format)", async () => {
    const lines = (await ctl("tail", "-n", "10")).trimEnd().split("\n");
    expect(lines).toEqual([
      `${at(0)} T3009I kube.request alice prod-web list pods ns=default 200 4ms cmd="kubectl get" (old format)`,
      `${at(1)} T2000I session.start bob prod-web exec default/web-0 "sh -c echo\\x1b[31m hi\\x0aforged" (old format)`,
      `${at(2)} T2004I session.end bob prod-web exec default/web-0/app "sh" tx=12B rx=345B exit=0 1500ms ended_by="token expired" (old format)`,
      `${at(3)} T3009I kube.request alice prod-web GET /api/v1/namespaces/default/pods 200 3ms`,
    ]);
  });

  test("search finds them by user, cluster, type and time", async () => {
    const bob = (await ctl("search", "--user", "bob", "--since", T0)).trimEnd().split("\n");
    expect(bob).toHaveLength(2);
    const ends = (await ctl("search", "--cluster", "prod-web", "--type", "T2004I", "--since", T0))
      .trimEnd()
      .split("\n");
    expect(ends).toEqual([expect.stringContaining("session.end bob prod-web")]);
    const requests = (await ctl("search", "--type", "kube.request", "--since", T0, "--until", at(1)))
      .trimEnd()
      .split("\n");
    expect(requests).toEqual([expect.stringContaining("kube.request alice prod-web list pods")]);
  });

  test("-o json prints them in the current shape, marked legacy", async () => {
    const objs = (await ctl("search", "--user", "bob", "--since", T0, "-o", "json"))
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(objs).toEqual([
      {
        event: "session.start",
        code: "T2000I",
        time: at(1),
        user: "bob",
        kubernetes_cluster: "prod-web",
        legacy: true,
        session_type: "exec",
        kubernetes_pod_namespace: "default",
        kubernetes_pod_name: "web-0",
        initial_command: ["sh", "-c", "echo\u001b[31m hi\nforged"],
      },
      expect.objectContaining({
        event: "session.end",
        code: "T2004I",
        legacy: true,
        kubernetes_container_name: "app",
        tx: 12,
        rx: 345,
        exitCode: "0",
        duration_ms: 1500,
        ended_by: "token expired",
      }),
    ]);
  });

  test("the console's audit page describes them the same way", () => {
    const e = upgradeEntry({
      type: "request",
      time: at(0),
      user: "alice",
      cluster: "prod-web",
      verb: "get",
      resource: "pods",
      subresource: "log",
      namespace: "default",
      name: "web-0\u001b[2J",
      status: 200,
      latency_ms: 4,
      bytes_out: 10,
    }) as AuditEvent;
    expect(eventDetails(e)).toBe('get pods/log ns=default name="web-0\\x1b[2J" 200 4ms (old format)');
  });
});
