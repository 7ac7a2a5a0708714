// `npm run demo` on a machine where bun is only in node_modules (and HTTPS_PROXY points at a proxy
// that cannot reach this machine's loopback): every command the demo prints to try next runs as
// printed from a shell with a plain PATH.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { Subprocess } from "bun";
import { readUntil } from "../helpers/cli.ts";
import { deadProxyUrl } from "../helpers/connect-proxy.ts";
import { freePort } from "../helpers/redis.ts";

const ROOT = resolve(import.meta.dir, "../..");
// No node_modules/.bin here: as after `npm ci`, bun is not on the user's PATH.
const PLAIN_PATH = "/usr/local/bin:/usr/bin:/bin";
let dir: string;
let demo: Subprocess<"ignore", "pipe", "pipe">;
let stdout = "";
let stderr = "";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kubeport-demo-print-"));
  demo = Bun.spawn(
    [
      process.execPath,
      join(ROOT, "src/main.ts"),
      "demo",
      "--data-dir",
      join(dir, "data"),
      "--listen",
      `127.0.0.1:${freePort()}`,
    ],
    {
      cwd: dir,
      // A shell set up for a corporate proxy (here a dead one): the demo talks over loopback only,
      // so it must keep working.
      env: {
        PATH: PLAIN_PATH,
        HOME: dir,
        HTTPS_PROXY: await deadProxyUrl(),
        HTTP_PROXY: await deadProxyUrl(),
      },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  void (async () => {
    for await (const chunk of demo.stderr) stderr += new TextDecoder().decode(chunk);
  })();
  stdout = await readUntil(demo.stdout, "Ctrl-C stops it.", 60_000);
}, 90_000);

afterAll(async () => {
  demo?.kill("SIGTERM");
  await Promise.race([demo?.exited, Bun.sleep(10_000)]);
  demo?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

test("the printed ctl command works from a shell without bun on PATH", () => {
  const line = stdout.split("\n").find((l) => l.includes(" ctl -c "));
  expect(line).toBeDefined();
  const p = Bun.spawnSync(["sh", "-c", line!.trim()], {
    cwd: dir,
    env: { PATH: PLAIN_PATH, HOME: dir },
    timeout: 30_000,
  });
  expect(p.stderr.toString()).toBe("");
  expect(p.exitCode).toBe(0);
  expect(p.stdout.toString()).toMatch(/^prod-web\s+env=prod,team=web\s+us-east-1/m);
});

test("the printed AWS exports reach the simulated account with the SDK", async () => {
  const env: Record<string, string> = {};
  for (const m of stdout.matchAll(/^\s+export (AWS_[A-Z_]+)=(\S+)$/gm))
    env[m[1]!] = m[2]!.replace(/^'(.*)'$/, "$1");
  expect(Object.keys(env).sort()).toEqual([
    "AWS_ACCESS_KEY_ID",
    "AWS_ENDPOINT_URL_EKS",
    "AWS_ENDPOINT_URL_ORGANIZATIONS",
    "AWS_ENDPOINT_URL_STS",
    "AWS_REGION",
    "AWS_SECRET_ACCESS_KEY",
  ]);
  const sts = new STSClient({
    region: env.AWS_REGION!,
    endpoint: env.AWS_ENDPOINT_URL_STS!,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
  });
  const me = await sts.send(new GetCallerIdentityCommand({}));
  expect(me.Account).toBe("111111111111");
  sts.destroy();
});

test("the printed `get -w` hint: its run and delete commands show up in the printed watch", async () => {
  const exportLine = stdout
    .split("\n")
    .find((l) => l.trim().startsWith("export KUBECONFIG="))!
    .trim();
  const watchLine = stdout
    .split("\n")
    .find((l) => l.includes("get pods -w"))!
    .trim();
  const hint = stdout.split("\n").find((l) => l.includes(" run ") && l.includes("delete pod"));
  expect(hint).toBeDefined();
  const run = /(kubectl [^#]*? run (\S+) --image=\S+)/.exec(hint!);
  const del = /(kubectl \S+ \S+ delete pod \S+)/.exec(hint!);
  expect(run).not.toBeNull();
  expect(del).not.toBeNull();
  const pod = run![2]!;
  const sh = (cmd: string) =>
    Bun.spawn(["sh", "-c", `${exportLine}; ${cmd}`], {
      cwd: dir,
      env: { PATH: PLAIN_PATH, HOME: dir },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      timeout: 60_000,
    });
  // exec: the watch is kubectl itself, so killing it ends its output.
  const watch = sh(`exec ${watchLine}`);
  let seen = "";
  const reading = (async () => {
    for await (const chunk of watch.stdout) seen += new TextDecoder().decode(chunk);
  })();
  const until = async (what: string, ok: () => boolean) => {
    const deadline = Date.now() + 30_000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`${what}; the watch printed: ${seen}`);
      await Bun.sleep(50);
    }
  };
  const rows = () => seen.split("\n").filter((l) => l.startsWith(`${pod} `));
  try {
    await until("the watch listed nothing", () => seen.includes("web-0"));
    const created = sh(run![1]!);
    expect(await created.exited).toBe(0);
    await until("the created pod never showed Running in the watch", () =>
      rows().some((r) => /\s1\/1\s+Running\s/.test(r)),
    );
    const before = rows().length;
    const deleted = sh(del![1]!);
    expect(await deleted.exited).toBe(0);
    // kubectl get -w prints the pod's row once more for its deletion.
    await until("the deletion never showed in the watch", () => rows().length > before);
  } finally {
    watch.kill();
    await reading;
  }
}, 120_000);

test("after an exec, the demo prints how to play it back, and the printed command plays it", async () => {
  const exportLine = stdout
    .split("\n")
    .find((l) => l.trim().startsWith("export KUBECONFIG="))!
    .trim();
  const exec = Bun.spawnSync(
    ["sh", "-c", `${exportLine}; kubectl --context prod-data exec web-0 -- echo recorded-hello`],
    {
      cwd: dir,
      env: { PATH: PLAIN_PATH, HOME: dir },
      timeout: 60_000,
    },
  );
  expect(exec.stdout.toString()).toContain("recorded-hello");
  const more = await readUntil(demo.stdout, /Play it back:\n\s+\S.* play -c .*\n/, 30_000);
  const playLine = more
    .split("\n")
    .find((l) => l.includes(" play -c "))!
    .trim();
  expect(more).toContain("Recorded: demo exec default/web-0 on prod-data (echo recorded-hello)");
  const played = Bun.spawnSync(["sh", "-c", `${playLine} --format text`], {
    cwd: dir,
    env: { PATH: PLAIN_PATH, HOME: dir },
    timeout: 30_000,
  });
  expect(played.stderr.toString()).toBe("");
  expect(played.stdout.toString()).toContain("recorded-hello");
}, 90_000);

test("a clean start warns about nothing (no advice about config the person never wrote)", () => {
  // Not a terminal: the demo logs JSON lines; 40 is WARN, 50 ERROR.
  const loud = stderr.split("\n").filter((l) => /"level":(40|50|60)/.test(l));
  expect(loud).toEqual([]);
});
