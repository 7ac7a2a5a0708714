// `kubeport demo` from the compiled binary alone: the kubeconfig appears once every cluster is
// served, kubectl works through it, and SIGTERM ends the demo cleanly.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { parse } from "yaml";
import { kubeportBinary } from "../helpers/binary.ts";
import { readUntil } from "../helpers/cli.ts";
import { KUBECTL } from "../helpers/kubectl.ts";
import { freePort } from "../helpers/redis.ts";

let dir: string;
let demo: Subprocess<"ignore", "pipe", "pipe">;
let stdout = "";
const kubeconfig = () => join(dir, "kc.yaml");

beforeAll(async () => {
  const bin = await kubeportBinary();
  dir = mkdtempSync(join(tmpdir(), "kubeport-demo-"));
  // Run from an empty directory with a bare environment: nothing but the binary is needed.
  demo = Bun.spawn(
    [
      bin,
      "demo",
      "--data-dir",
      join(dir, "data"),
      "--kubeconfig",
      kubeconfig(),
      "--listen",
      `127.0.0.1:${freePort()}`,
    ],
    { cwd: dir, env: { PATH: "/usr/bin:/bin", HOME: dir }, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  stdout = await readUntil(demo.stdout, "Ctrl-C stops it.", 60_000);
}, 90_000);

afterAll(() => {
  demo?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const run = (args: string[]) => {
  const p = Bun.spawnSync([KUBECTL, ...args], {
    env: { PATH: "/usr/bin:/bin", HOME: dir, KUBECONFIG: kubeconfig(), KUBECACHEDIR: join(dir, "cache") },
    timeout: 30_000,
  });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
};

test("writes a kubeconfig with one context per tagged cluster and prints what to try", () => {
  expect(stdout).toContain("kubectl --context prod-web get pods");
  expect(existsSync(kubeconfig())).toBe(true);
  const kc = parse(readFileSync(kubeconfig(), "utf8"));
  expect(kc.contexts.map((c: { name: string }) => c.name)).toEqual(["prod-data", "prod-web", "staging"]);
});

test("kubectl lists pods and execs through the demo's gateway on every served cluster", () => {
  for (const ctx of ["prod-web", "prod-data", "staging"]) {
    const r = run(["--context", ctx, "get", "pods", "-o", "name"]);
    expect(r.err).toBe("");
    expect(r.out).toContain("pod/web-0");
  }
  const ex = run(["--context", "staging", "exec", "web-1", "--", "sh", "-c", "exit 3"]);
  expect(ex.code).toBe(3);
});

test("SIGTERM stops the demo with exit 0", async () => {
  demo.kill("SIGTERM");
  const code = await Promise.race([demo.exited, Bun.sleep(10_000).then(() => "timeout")]);
  expect(code).toBe(0);
}, 60_000);
