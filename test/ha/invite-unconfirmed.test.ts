// `ctl users add|reset` when the user is confirmed by a replica but its invite is not (a failover
// now could lose the invite). The person must learn which user they added, that it has no link they
// can trust (none is printed), and the command that gets one — never the invite's internal digest.
// Deterministic: the replica reaches the primary through a proxy that holds back the replication
// stream from the first write of an invite key on, so that write (only) is never acknowledged (WAIT).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { runCliCaptured, tempConfig } from "../helpers/cli.ts";
import { redisCli } from "../helpers/ha.ts";
import { freePort, type RedisStandalone, startRedisStandalone } from "../helpers/redis.ts";

/** The replication link, primary → replica, with a switch that stops it at the first chunk holding `marker`. */
interface ReplicationGate {
  port: number;
  /** From the next chunk holding `marker` on, nothing reaches the replica until release(). */
  holdFrom(marker: string): void;
  release(): void;
  stop(): void;
}

async function startReplicationGate(primaryPort: number): Promise<ReplicationGate> {
  let marker: string | undefined;
  let held: Uint8Array[] | undefined;
  let replica: Socket<unknown> | undefined;
  let upstream: Socket<unknown> | undefined;
  const pending: Uint8Array[] = [];
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        replica = client;
        Bun.connect({
          hostname: "127.0.0.1",
          port: primaryPort,
          socket: {
            open(server) {
              upstream = server;
              for (const b of pending.splice(0)) server.write(b);
            },
            data(_server, chunk) {
              if (!held && marker && Buffer.from(chunk).includes(marker)) held = [];
              if (held) held.push(new Uint8Array(chunk));
              else replica?.write(chunk);
            },
            close: () => void replica?.end(),
            error: () => void replica?.end(),
          },
        }).catch(() => client.end());
      },
      data(_client, chunk) {
        if (upstream) upstream.write(chunk);
        else pending.push(new Uint8Array(chunk));
      },
      close: () => void upstream?.end(),
      error: () => void upstream?.end(),
    },
  });
  return {
    port: listener.port,
    holdFrom(m) {
      marker = m;
    },
    release() {
      marker = undefined;
      for (const b of held ?? []) replica?.write(b);
      held = undefined;
    },
    stop() {
      replica?.end();
      upstream?.end();
      listener.stop(true);
    },
  };
}

let primary: RedisStandalone;
let gate: ReplicationGate;
let replicaProc: ReturnType<typeof Bun.spawn>;
let replicaPort: number;
let replicaDir: string;
let conf: ReturnType<typeof tempConfig>;

const ctl = (...args: string[]) =>
  runCliCaptured(["ctl", "-c", conf.cfg, ...args], { logLevel: "error", registryWaitMs: 20_000 });

beforeAll(async () => {
  primary = await startRedisStandalone();
  gate = await startReplicationGate(primary.node.port);
  replicaPort = freePort();
  replicaDir = mkdtempSync(join(tmpdir(), "kp-invite-replica-"));
  replicaProc = Bun.spawn(
    [
      "redis-server",
      "--port",
      String(replicaPort),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--replicaof",
      "127.0.0.1",
      String(gate.port),
    ],
    { cwd: replicaDir, stdout: "ignore", stderr: "ignore" },
  );
  const deadline = Date.now() + 30_000;
  while (
    !(await redisCli(replicaPort, "info", "replication").catch(() => "")).includes("master_link_status:up")
  ) {
    if (Date.now() > deadline) throw new Error("the replica never synced through the gate");
    await Bun.sleep(100);
  }
  conf = tempConfig(
    "kp-invite-unconfirmed-",
    (dir) =>
      `version: v1\nkubeport:\n  data_dir: ${join(dir, "data")}\n  storage: { type: redis, url: "${primary.url}", replica_acks: 1 }\n`,
  );
  const role = join(conf.dir, "role.yaml");
  await Bun.write(
    role,
    "kind: role\nversion: v1\nmetadata: { name: admin }\nspec: { allow: { kubernetes_labels: { '*': '*' }, kubernetes_groups: [view] } }\n",
  );
  const created = await ctl("create", "-f", role);
  expect(created.stderr).toBe("");
  expect(created.code).toBe(0);
}, 60_000);

afterAll(async () => {
  gate?.stop();
  replicaProc?.kill("SIGKILL");
  await replicaProc?.exited;
  await primary?.stop();
  conf?.remove();
  if (replicaDir) rmSync(replicaDir, { recursive: true, force: true });
}, 30_000);

const INVITE_KEY = ":r:invite";

test("users add: the user is confirmed, its invite is not → exit 3, no link, the user named and how to get a link", async () => {
  gate.holdFrom(INVITE_KEY);
  const r = await ctl("users", "add", "alice", "--roles", "admin");
  console.info(`users add, invite not confirmed: exit ${r.code}\n${r.stdout}${r.stderr}`);
  expect(r.code).toBe(3);
  expect(r.stdout).toContain('User "alice" has been created');
  // A link that a failover could undo is not handed over.
  expect(r.stdout).not.toContain("/web/invite/");
  expect(r.stderr).toContain('the invite link of user "alice"');
  expect(r.stderr).toContain("could lose it");
  expect(r.stderr).toContain('User "alice" is created, but it has no invite link yet');
  expect(r.stderr).toContain('"kubeport ctl users reset alice"');
  expect(r.stderr).not.toMatch(/[0-9a-f]{64}/);
  expect(r.stderr).not.toContain("ctl get invite");
  // What it said is true: the user is on the replica, the invite is not.
  expect((await redisCli(replicaPort, "hexists", `{kubeport}:r:user`, "alice")).trim()).toBe("1");
  expect((await redisCli(replicaPort, "hlen", `{kubeport}${INVITE_KEY}`)).trim()).toBe("0");
}, 60_000);

test("users reset: an invite write not confirmed → exit 3, no link, run reset again; once confirmed it prints one", async () => {
  gate.release();
  gate.holdFrom(INVITE_KEY);
  const r = await ctl("users", "reset", "alice");
  console.info(`users reset, invite not confirmed: exit ${r.code}\n${r.stdout}${r.stderr}`);
  expect(r.code).toBe(3);
  expect(r.stdout).not.toContain("/web/invite/");
  expect(r.stderr).toContain('"kubeport ctl users reset alice" again');
  expect(r.stderr).not.toMatch(/[0-9a-f]{64}/);

  gate.release();
  const ok = await ctl("users", "reset", "alice");
  expect(ok.stderr).toBe("");
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/https:\/\/\S+\/web\/invite\/[A-Za-z0-9_-]{43}/);
}, 60_000);
