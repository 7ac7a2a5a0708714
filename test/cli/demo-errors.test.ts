// `kubeport demo` errors speak of the flags the person typed (there is no config file to point at)
// and are printed once.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runCliCaptured, spawnCaptured } from "../helpers/cli.ts";

const ROOT = resolve(import.meta.dir, "../..");
let dir: string;
let squatter: Bun.TCPSocketListener<undefined>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kp-demo-err-"));
  squatter = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
});
afterAll(() => {
  squatter?.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

test.each(["nonsense", "127.0.0.1:99999", "127.0.0.1"])(
  "--listen %s is a usage error naming the flag, before anything starts",
  async (listen) => {
    const r = await runCliCaptured(["demo", "--listen", listen, "--data-dir", join(dir, "bad")]);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe(`error: --listen: ${JSON.stringify(listen)} is not host:port`);
    expect(r.stderr).not.toMatch(/line \d+|proxy_service|demo config/);
    expect(r.stdout).toBe("");
  },
);

test("a --listen address in use: one error line, in terms of --listen, saying it once", async () => {
  const addr = `127.0.0.1:${squatter.port}`;
  const r = await spawnCaptured(
    [process.execPath, join(ROOT, "src/main.ts"), "demo", "--listen", addr, "--data-dir", join(dir, "busy")],
    { env: { PATH: "/usr/bin:/bin", HOME: dir }, cwd: dir, timeoutMs: 90_000 },
  );
  expect(r.code).toBe(1);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toStartWith(`error: demo failed: --listen ${addr}: cannot listen`);
  expect(errors[0]).not.toContain("proxy_service");
  // Each part of the chain once (it used to be the whole message, then its cause again).
  expect(errors[0]!.split("cannot listen")).toHaveLength(2);
}, 120_000);
