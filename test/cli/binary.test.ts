// The compiled binary, run from a temp cwd with no node_modules beside it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { mapLimit } from "../../src/lib/pool.ts";
import { compileBinary, kubeportBinary } from "../helpers/binary.ts";
import { spawnCaptured } from "../helpers/cli.ts";
import { startRedisStandalone } from "../helpers/redis.ts";

let bin: string;
let dir: string;
const live = new Set<Subprocess>();

// AWS calls (once discovery is wired) go to a closed loopback port, never the network.
const ENV = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: "/nonexistent",
  AWS_ACCESS_KEY_ID: "AKIDTEST",
  AWS_SECRET_ACCESS_KEY: "secret",
  AWS_REGION: "us-east-1",
  AWS_ENDPOINT_URL_EKS: "http://127.0.0.1:9",
  AWS_ENDPOINT_URL_STS: "http://127.0.0.1:9",
  AWS_EC2_METADATA_DISABLED: "true",
};

beforeAll(async () => {
  bin = await kubeportBinary();
  dir = mkdtempSync(join(tmpdir(), "kp-bin-"));
}, 120_000);

afterAll(() => {
  for (const p of live) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

async function run(args: string[], env: Record<string, string> = {}) {
  return spawnCaptured([bin, ...args], {
    cwd: dir,
    env: { ...ENV, ...env },
    timeoutMs: 15_000,
    killSignal: "SIGKILL",
  });
}

/** `ctl tokens add` for `roles` (optionally with a --ttl), answering in JSON. */
const addTokenJson = (cfg: string, roles: string, ttl?: string) =>
  run([
    "ctl",
    "-c",
    cfg,
    "tokens",
    "add",
    `--type=${roles}`,
    ...(ttl ? ["--ttl", ttl] : []),
    "--format",
    "json",
  ]);

/** A fresh data dir and config made by `kubeport configure`; discovery on, gateway on port 0. */
async function configure(name: string, extra: string[] = []): Promise<string> {
  const cfg = join(dir, `${name}.yaml`);
  const r = await run([
    "configure",
    "--data-dir",
    join(dir, name),
    "--tags",
    "env=prod",
    "--regions",
    "us-east-1",
    "--listen-addr",
    "127.0.0.1:0",
    "--out",
    cfg,
    ...extra,
  ]);
  expect(r.code).toBe(0);
  writeFileSync(cfg, (await Bun.file(cfg).text()).replace("severity: INFO", "severity: WARN"));
  return cfg;
}

async function waitFor<T>(fn: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(100);
  }
}

describe("kubeport binary", () => {
  test("version prints kubeport and bun versions", async () => {
    const r = await run(["version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^kubeport v\d+\.\d+\.\d+ bun v\d+\.\d+\.\d+/);
  });

  test("version shows the commit embedded with --define", async () => {
    const out = join(dir, "kubeport-commit");
    await compileBinary(out, ["--define", 'KUBEPORT_COMMIT="abc1234"']);
    const p = Bun.spawn([out, "version", "--format", "json"], { cwd: dir, env: ENV, stdout: "pipe" });
    expect(JSON.parse(await new Response(p.stdout).text())).toMatchObject({ commit: "abc1234" });
    expect(await p.exited).toBe(0);
  }, 60_000);

  test("--help on every command prints its usage", async () => {
    const paths = [
      [],
      ["start"],
      ["configure"],
      ["version"],
      ["help"],
      ["ctl"],
      ["ctl", "get"],
      ["ctl", "rm"],
      ["ctl", "create"],
      ["ctl", "tokens"],
      ["ctl", "tokens", "add"],
      ["ctl", "tokens", "ls"],
      ["ctl", "tokens", "rm"],
      ["ctl", "inventory"],
      ["ctl", "inventory", "status"],
    ];
    // Three at a time, with room to spare: fifteen binaries started at once on a loaded 2-core CI
    // machine took longer than bun's 5 s default (this proves --help output, not start-up speed).
    const results = await mapLimit(paths, 3, (path) => run([...path, "--help"]));
    results.forEach((r, i) => {
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith(`Usage: ${["kubeport", ...paths[i]!].join(" ")} `);
    });
    expect((await run(["help", "ctl", "tokens", "add"])).stdout).toBe(results[10]!.stdout);
  }, 60_000);

  test("an unknown command or flag exits 2 with usage", async () => {
    const a = await run(["frobnicate"]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('unknown command "frobnicate"');
    expect(a.stderr).toContain("Usage: kubeport");
    const b = await run(["ctl", "tokens", "ls", "--bogus"]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("Unknown option '--bogus'");
    expect(b.stderr).toContain("Usage: kubeport ctl tokens ls");
  });

  test("a malformed config exits 2 naming every key path", async () => {
    const cfg = join(dir, "bad.yaml");
    writeFileSync(
      cfg,
      "version: v1\nkubernetes_service:\n  resource: []\ndiscovery_service:\n  aws:\n    - types: [ekss]\n",
    );
    const r = await run(["start", "-c", cfg]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'kubernetes_service.resource: unknown key; did you mean "resources"? (line 3)',
    );
    expect(r.stderr).toContain('discovery_service.aws[0].types[0]: "ekss" is not one of: eks (line 6)');
  });

  test("tokens add, ls and rm", async () => {
    const cfg = await configure("tokens");
    const add = await addTokenJson(cfg, "discovery,kube", "1h");
    expect(add.code).toBe(0);
    const { token, id } = JSON.parse(add.stdout) as { token: string; id: string };
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    const text = await run(["ctl", "-c", cfg, "tokens", "add", "--type=kube"]);
    expect(text.stdout).toMatch(/^The invite token: [0-9a-f]{64}\nThis token will expire in 30m\./);
    const ls = await run(["ctl", "-c", cfg, "tokens", "ls"]);
    expect(ls.stdout).toMatch(new RegExp(`^${id} +discovery,kube +\\S+ \\(`, "m"));
    expect(ls.stdout).not.toContain(token);
    expect((await run(["ctl", "-c", cfg, "tokens", "rm", token])).stdout).toBe(
      `Token ${id} has been deleted.\n`,
    );
    expect((await run(["ctl", "-c", cfg, "tokens", "ls"])).stdout).not.toContain(id);
    const again = await run(["ctl", "-c", cfg, "tokens", "rm", id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`error: token ${id} not found\n`);
  });

  test("configure | start: joins, heartbeats into the inventory, and leaves cleanly on SIGTERM", async () => {
    const cfg = await configure("start");
    const add = await addTokenJson(cfg, "discovery,kube");
    const tokenFile = join(dir, "start-token");
    writeFileSync(tokenFile, `${(JSON.parse(add.stdout) as { token: string }).token}\n`);
    const joined = join(dir, "joined.yaml");
    const r = await run([
      "configure",
      "--data-dir",
      join(dir, "start"),
      "--tags",
      "env=prod",
      "--listen-addr",
      "127.0.0.1:0",
      "--token",
      tokenFile,
      "--out",
      joined,
    ]);
    expect(r.code).toBe(0);
    const p = Bun.spawn([bin, "start", "-c", joined], { cwd: dir, env: ENV, stdout: "pipe", stderr: "pipe" });
    live.add(p);
    try {
      const rows = await waitFor(async () => {
        const s = await run(["ctl", "-c", cfg, "inventory", "status", "--connected", "--format", "json"]);
        const list = JSON.parse(s.stdout) as {
          metadata: { name: string };
          spec: { services: string[]; discovery_group: string };
        }[];
        return list.length > 0 ? list : undefined;
      });
      expect(rows).toHaveLength(1);
      expect(rows[0]!.spec.services).toEqual(["discovery", "kube", "proxy"]);
      expect(rows[0]!.spec.discovery_group).toBe("aws-prod");
      const table = await run(["ctl", "-c", cfg, "inventory", "status"]);
      expect(table.stdout).toMatch(/^ID +HOSTNAME +SERVICES +GROUP +VERSION +LAST SEEN$/m);
      expect(table.stdout).toContain(rows[0]!.metadata.name);

      const t0 = Date.now();
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
      const after = await run(["ctl", "-c", cfg, "inventory", "status", "--format", "json"]);
      expect(JSON.parse(after.stdout)).toEqual([]);
    } finally {
      p.kill("SIGKILL");
      live.delete(p);
    }
  }, 60_000);

  test.each([
    ["an unknown token", async () => "0".repeat(64), "join token is unknown or has expired"],
    [
      "an expired token",
      async (cfg: string) => {
        const add = await addTokenJson(cfg, "discovery,kube", "1s");
        await Bun.sleep(1100);
        return (JSON.parse(add.stdout) as { token: string }).token;
      },
      "join token is unknown or has expired",
    ],
    [
      "a token without the discovery role",
      async (cfg: string) => {
        const add = await addTokenJson(cfg, "kube");
        return (JSON.parse(add.stdout) as { token: string }).token;
      },
      'lacks role "discovery" needed by discovery_service',
    ],
  ])(
    "start with %s exits 1 with the reason",
    async (name, mint, message) => {
      const base = `join-${name.replace(/\W+/g, "-")}`;
      const cfg = await configure(base);
      const secret = await mint(cfg);
      const joined = join(dir, `${base}-joined.yaml`);
      await run([
        "configure",
        "--data-dir",
        join(dir, base),
        "--listen-addr",
        "127.0.0.1:0",
        "--token",
        secret,
        "--out",
        joined,
      ]);
      const r = await run(["start", "-c", joined]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(message);
      const inv = await run(["ctl", "-c", cfg, "inventory", "status", "--format", "json"]);
      expect(JSON.parse(inv.stdout)).toEqual([]);
    },
    15_000,
  );

  test("a Redis registry (ioredis bundled): start joins and heartbeats, ctl reads it, SIGTERM leaves", async () => {
    const redis = await startRedisStandalone();
    const p = { proc: undefined as Subprocess | undefined };
    try {
      const cfg = await configure("redis", ["--storage-url", redis.url]);
      const add = await addTokenJson(cfg, "discovery,kube");
      expect(add.code).toBe(0);
      const { token } = JSON.parse(add.stdout) as { token: string };
      const joined = join(dir, "redis-joined.yaml");
      await run([
        "configure",
        "--data-dir",
        join(dir, "redis"),
        "--storage-url",
        redis.url,
        "--listen-addr",
        "127.0.0.1:0",
        "--token",
        token,
        "--out",
        joined,
      ]);
      p.proc = Bun.spawn([bin, "start", "-c", joined], {
        cwd: dir,
        env: ENV,
        stdout: "pipe",
        stderr: "pipe",
      });
      live.add(p.proc);
      await waitFor(async () => {
        const s = await run(["ctl", "-c", cfg, "inventory", "status", "--connected", "--format", "json"]);
        return (JSON.parse(s.stdout) as unknown[]).length === 1 ? true : undefined;
      });
      p.proc.kill("SIGTERM");
      expect(await p.proc.exited).toBe(0);
      expect(
        JSON.parse((await run(["ctl", "-c", cfg, "inventory", "status", "--format", "json"])).stdout),
      ).toEqual([]);
    } finally {
      p.proc?.kill("SIGKILL");
      if (p.proc) live.delete(p.proc);
      await redis.stop();
    }
  }, 60_000);
});
