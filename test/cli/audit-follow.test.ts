// `kubeport ctl audit tail -f` ends on Ctrl-C (SIGINT) or SIGTERM with exit 0: stopping a follow is
// how it is used, not a failure.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join, resolve } from "node:path";
import { AUDIT_STREAM } from "../../src/audit/index.ts";
import { readUntil, seedRegistry, tempConfig } from "../helpers/cli.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
const { dir, cfg, remove } = tempConfig("kp-auditf-");

beforeAll(async () => {
  await seedRegistry(join(dir, "data", "registry.db"), async (backend) => {
    await backend.append(AUDIT_STREAM, {
      event: "kube.request",
      code: "T3009I",
      time: new Date().toISOString(),
      uid: "u1",
      user: "alice",
      roles: ["dev"],
      kubernetes_cluster: "prod-web",
      verb: "GET",
      request_path: "/api/v1/pods",
      response_code: 200,
      latency_ms: 3,
      bytes_out: 10,
    });
  });
});
afterAll(remove);

test.each<[NodeJS.Signals]>([["SIGINT"], ["SIGTERM"]])(
  "tail -f stopped by %s exits 0",
  async (sig) => {
    const p = Bun.spawn([process.execPath, MAIN, "ctl", "-c", cfg, "audit", "tail", "-f"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const out = await readUntil(p.stdout, "alice prod-web GET", 30_000);
      expect(out).toContain("kube.request alice prod-web GET /api/v1/pods 200 3ms");
      p.kill(sig);
      expect(await p.exited).toBe(0);
      expect(await new Response(p.stderr).text()).toBe("");
    } finally {
      p.kill("SIGKILL");
    }
  },
  40_000,
);
