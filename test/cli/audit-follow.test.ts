// `kubeport ctl audit tail -f` ends on Ctrl-C (SIGINT) or SIGTERM with exit 0: stopping a follow is
// how it is used, not a failure.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { AUDIT_STREAM } from "../../src/gateway/index.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { openSqliteBackend } from "../../src/registry/index.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
let dir: string;
let cfg: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kp-auditf-"));
  cfg = join(dir, "kubeport.yaml");
  writeFileSync(cfg, `version: v1\nkubeport:\n  data_dir: ${join(dir, "data")}\n`);
  const backend = openSqliteBackend({ path: join(dir, "data", "registry.db"), log: silentLogger });
  await backend.append(AUDIT_STREAM, {
    type: "request",
    time: new Date().toISOString(),
    user: "alice",
    roles: ["dev"],
    cluster: "prod-web",
    verb: "list",
    resource: "pods",
    status: 200,
    latency_ms: 3,
    bytes_out: 10,
  });
  await backend.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each<[NodeJS.Signals]>([["SIGINT"], ["SIGTERM"]])(
  "tail -f stopped by %s exits 0",
  async (sig) => {
    const p = Bun.spawn([process.execPath, MAIN, "ctl", "-c", cfg, "audit", "tail", "-f"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const reader = p.stdout.getReader();
      let out = "";
      const deadline = Date.now() + 30_000;
      while (!out.includes("alice prod-web list pods") && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      expect(out).toContain("alice prod-web list pods 200 3ms");
      p.kill(sig);
      expect(await p.exited).toBe(0);
      expect(await new Response(p.stderr).text()).toBe("");
    } finally {
      p.kill("SIGKILL");
    }
  },
  40_000,
);
