// End to end: real kubectl → gateway (real auth, EKS tokens from the default AWS chain) → simulated EKS.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { eksCredentials } from "../../src/gateway/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import type { KubeSim } from "../../src/sim/index.ts";
import { runCliCaptured } from "../helpers/cli.ts";
import {
  KUBECTL,
  type KubectlEnv,
  kubectl,
  kubectlEnv,
  kubectlRerunOnClientRace,
  kubectlStream,
} from "../helpers/kubectl.ts";
import { startDevProdSim, startTestGateway, type TestGateway, testRoles } from "./fixture.ts";

let sims: Awaited<ReturnType<typeof startDevProdSim>>;
let gw: TestGateway;
let dev: KubeSim;
let aliceToken: string;
let expiredToken: string;
const envs: KubectlEnv[] = [];

const now = new Date().toISOString();
const users: Resource[] = [
  { kind: "user", version: "v1", metadata: { name: "alice" }, spec: { roles: ["dev"], created: now } },
  ...testRoles,
];

const env = (cluster: string, token = aliceToken, extra: Record<string, string> = {}) => {
  const e = kubectlEnv(
    { server: `${gw.gateway.url}/v1/clusters/${cluster}`, token, caPem: gw.gateway.caPem! },
    extra,
  );
  envs.push(e);
  return e;
};

beforeAll(async () => {
  sims = await startDevProdSim();
  dev = sims.dev;
  gw = await startTestGateway({
    realAuth: true,
    credentials: eksCredentials(),
    clusters: sims.clusters,
    resources: users,
    healthIntervalMs: 500,
  });
  const issuer = kubeportIssuer({ public_addr: "localhost:3080" });
  aliceToken = await issueUserToken(gw.backend, { user: "alice", issuer });
  expiredToken = await issueUserToken(gw.backend, {
    user: "alice",
    issuer,
    ttlMs: 60_000,
    clock: { now: () => Date.now() - 3_600_000 },
  });
}, 60_000);

afterAll(async () => {
  for (const e of envs) e.cleanup();
  await gw?.close();
  await sims?.close();
});

describe("kubectl through the gateway", () => {
  test("get pods lists the simulated pods, acting upstream as the impersonated user", async () => {
    const r = await kubectl(env("dev-a"), ["get", "pods"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("web-0");
    expect(r.stdout).toContain("web-2");
    const list = dev
      .requests()
      .filter((q) => q.path === "/api/v1/namespaces/default/pods")
      .at(-1)!;
    expect(list).toMatchObject({ user: "alice", status: 200 });
    expect(list.userAgent).toStartWith("kubectl");
    expect(list.groups).toContain("developers");
    expect(list.impersonatedBy).toBeDefined();
  }, 60_000);

  test("client impersonation flags never reach upstream", async () => {
    const r = await kubectl(env("dev-a"), ["get", "pods", "--as=system:admin", "--as-group=system:masters"]);
    expect(r.code).toBe(0);
    const list = dev
      .requests()
      .filter((q) => q.path === "/api/v1/namespaces/default/pods")
      .at(-1)!;
    expect(list.user).toBe("alice");
    expect(list.groups).not.toContain("system:masters");
  }, 60_000);

  test("get pods -w sees a created pod within 1 s", async () => {
    const w = kubectlStream(env("dev-a"), ["get", "pods", "-w"]);
    try {
      await w.waitFor((o) => o.includes("web-2"), 15_000);
      await Bun.sleep(300);
      const t0 = performance.now();
      dev.addPod("default", "watched-1");
      await w.waitFor((o) => o.includes("watched-1"), 3000);
      expect(performance.now() - t0).toBeLessThan(1000);
    } finally {
      await w.stop();
    }
  }, 60_000);

  test("exec carries stdin, stdout, stderr and a non-zero exit code", async () => {
    const r = await kubectl(
      env("dev-a"),
      ["exec", "-i", "web-0", "--", "sh", "-c", "cat; echo oops >&2; exit 3"],
      { stdin: "hello through kubeport\n" },
    );
    expect(r.stdout).toBe("hello through kubeport\n");
    expect(r.stderr).toContain("oops");
    expect(r.code).toBe(3);
    const ex = dev.execs().at(-1)!;
    expect(ex.user).toBe("alice");
  }, 60_000);

  test("exec of a command that answers at once (no stdin) gets its output and exit code", async () => {
    const echo = await kubectl(env("dev-a"), ["exec", "web-0", "--", "echo", "hi"]);
    expect(echo.stdout).toBe("hi\n");
    expect(echo.code).toBe(0);
    const exit = await kubectl(env("dev-a"), ["exec", "web-0", "--", "sh", "-c", "exit 4"]);
    expect(exit.code).toBe(4);
  }, 60_000);

  test("exec -it on a terminal: the size reaches the pod, ^D ends cat, ^C interrupts it", async () => {
    // script(1) gives kubectl a real pseudo-terminal, as a person's shell would.
    const e = env("dev-a");
    const run = async (keys: string[]) => {
      const before = dev.execs().length;
      const p = Bun.spawn(
        ["script", "-qfec", `stty cols 132 rows 40; ${KUBECTL} exec -it web-0 -- cat`, "/dev/null"],
        {
          env: e.env,
          stdin: "pipe",
          stdout: "pipe",
          stderr: "pipe",
          timeout: 45_000,
          killSignal: "SIGKILL",
        },
      );
      let out = "";
      const reading = (async () => {
        for await (const chunk of p.stdout) out += new TextDecoder().decode(chunk);
      })();
      // Type only once the session is up at the pod and kubectl has sent the terminal's size (so its
      // terminal is raw): keys typed earlier are read by the local terminal's line discipline, where
      // ^D and ^C mean something else. Waiting for that, not a fixed pause, holds under load.
      const deadline = Date.now() + 30_000;
      while (!(dev.execs().length > before && dev.execs().at(-1)!.resizes.length > 0)) {
        if (Date.now() > deadline || p.exitCode !== null) break;
        await Bun.sleep(50);
      }
      for (const k of keys) {
        await Bun.sleep(300);
        p.stdin.write(k);
        await p.stdin.flush();
      }
      const code = await p.exited;
      await reading;
      return { code, out };
    };
    const eof = await run(["typed on a tty\r", "\x04"]);
    expect(eof.out).toContain("typed on a tty");
    expect(eof.code).toBe(0);
    expect(dev.execs().at(-1)!.resizes).toContainEqual({ Width: 132, Height: 40 });
    const intr = await run(["\x03"]);
    expect(intr.code).toBe(130);
  }, 60_000);

  test("attach -i relays stdin to the container and its output back", async () => {
    const r = await kubectl(env("dev-a"), ["attach", "-i", "web-0"], { stdin: "typed into attach\n" });
    expect(r.stdout).toContain("typed into attach\n");
    expect(r.code).toBe(0);
  }, 60_000);

  test("cp copies a binary file into the pod and back unchanged (tar over exec, both ways)", async () => {
    const e = env("dev-a");
    const data = crypto.getRandomValues(new Uint8Array(300_000));
    const local = join(e.dir, "blob.bin");
    writeFileSync(local, data);
    const up = await kubectl(e, ["cp", local, "default/web-0:/tmp/upload/blob.bin"]);
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    // kubectl ran `tar -xmf - -C /tmp/upload` in the pod, through the gateway as alice.
    const ex = dev.execs().at(-1)!;
    expect(ex.params.command).toEqual(expect.arrayContaining(["tar", "-", "-C", "/tmp/upload"]));
    expect(ex.user).toBe("alice");

    const back = join(e.dir, "back.bin");
    // Downloads are run again only when kubectl shows its own stream race (helpers/kubectl.ts):
    // the command is over at once, which is when kubectl ≤ 1.32 can read before it has its streams.
    const down = await kubectlRerunOnClientRace(e, ["cp", "default/web-0:/tmp/upload/blob.bin", back]);
    expect({ code: down.code, stderr: down.stderr }).toEqual({ code: 0, stderr: "" });
    expect(new Uint8Array(readFileSync(back))).toEqual(data);

    // Into an existing directory: kubectl asks the pod `test -d /tmp` and puts the file inside it.
    const intoDir = await kubectl(e, ["cp", local, "default/web-0:/tmp"]);
    expect({ code: intoDir.code, stderr: intoDir.stderr }).toEqual({ code: 0, stderr: "" });
    const inTmp = await kubectlRerunOnClientRace(e, ["exec", "web-0", "--", "test", "-f", "/tmp/blob.bin"]);
    expect(inTmp.code).toBe(0);

    // A directory tree, with a name over 100 bytes (a ustar prefix / PAX record in kubectl's archive)
    // and a non-ASCII name with a space, there and back.
    const tree = join(e.dir, "tree");
    const deep = join(tree, "d".repeat(60), "e".repeat(60));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(tree, "top.txt"), "top\n");
    writeFileSync(join(deep, "fichier été.txt"), "deep\n");
    const up2 = await kubectl(e, ["cp", tree, "default/web-0:/srv/tree"]);
    expect({ code: up2.code, stderr: up2.stderr }).toEqual({ code: 0, stderr: "" });
    const treeBack = join(e.dir, "tree-back");
    const down2 = await kubectlRerunOnClientRace(e, ["cp", "default/web-0:/srv/tree", treeBack]);
    expect({ code: down2.code, stderr: down2.stderr }).toEqual({ code: 0, stderr: "" });
    expect(readFileSync(join(treeBack, "top.txt"), "utf8")).toBe("top\n");
    expect(readFileSync(join(treeBack, "d".repeat(60), "e".repeat(60), "fichier été.txt"), "utf8")).toBe(
      "deep\n",
    );

    // The pod's tar says "Cannot stat" and exits 2 after writing an empty archive, as GNU tar does;
    // whether kubectl's exit code shows it races in kubectl itself (untar ends at the empty archive,
    // the status may come after), so the message and the missing local file are what is certain.
    const missing = await kubectl(e, ["cp", "default/web-0:/tmp/nope.bin", join(e.dir, "nope")]);
    expect(missing.stdout + missing.stderr).toContain(
      "tar: /tmp/nope.bin: Cannot stat: No such file or directory",
    );
    expect(existsSync(join(e.dir, "nope"))).toBe(false);
  }, 60_000);

  test("port-forward tunnels HTTP and raw TCP through the gateway", async () => {
    const before = dev.portForwards().length;
    const pf = kubectlStream(env("dev-a"), ["port-forward", "web-0", ":80"]);
    try {
      const out = await pf.waitFor((o) => /127\.0\.0\.1:\d+ -> 80/.test(o), 15_000);
      const port = Number(/127\.0\.0\.1:(\d+) -> 80/.exec(out)![1]);
      const bodies = await Promise.all(
        [1, 2].map(async (i) => (await fetch(`http://127.0.0.1:${port}/${i}`)).text()),
      );
      expect(bodies).toEqual(["hello from web-0\n", "hello from web-0\n"]);
      const echoed = await new Promise<string>((resolve, reject) => {
        let got = "";
        const timer = setTimeout(() => reject(new Error(`echo timed out (${got})`)), 5000);
        void Bun.connect({
          hostname: "127.0.0.1",
          port,
          socket: {
            open: (sock) => void sock.write("raw bytes through kubeport\n"),
            data: (sock, d) => {
              got += d.toString();
              if (got.endsWith("\n")) {
                clearTimeout(timer);
                sock.end();
                resolve(got);
              }
            },
            error: (_sock, e) => reject(e),
          },
        });
      });
      expect(echoed).toBe("raw bytes through kubeport\n");
      // One upstream tunnel for the whole kubectl session, opened as the impersonated user.
      expect(dev.portForwards().length).toBe(before + 1);
    } finally {
      await pf.stop();
    }
  }, 60_000);

  test("logs -f streams new lines as they come", async () => {
    const w = kubectlStream(env("dev-a"), ["logs", "-f", "web-1"]);
    try {
      const first = await w.waitFor((o) => o.split("\n").length > 3, 15_000);
      await w.waitFor((o) => o.length > first.length, 2000);
    } finally {
      await w.stop();
    }
  }, 60_000);

  test("exec forced onto SPDY explains that kubeport speaks WebSocket only", async () => {
    const r = await kubectl(env("dev-a", aliceToken, { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false" }), [
      "exec",
      "web-0",
      "--",
      "echo",
      "hi",
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "exec, attach and cp need kubectl 1.30 or newer, without KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false",
    );
  }, 60_000);

  test("port-forward forced onto SPDY names kubectl 1.31 and KUBECTL_PORT_FORWARD_WEBSOCKETS", async () => {
    const p = kubectlStream(env("dev-a", aliceToken, { KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" }), [
      "port-forward",
      "pod/web-0",
      "0:8080",
    ]);
    // kubectl opens the tunnel before it listens: the refusal ends it.
    const code = await p.exited;
    expect(code).not.toBe(0);
    await p.stop();
    expect(p.stderr()).toContain(
      "port-forward needs kubectl 1.31 or newer, without KUBECTL_PORT_FORWARD_WEBSOCKETS=false",
    );
    expect(p.stderr()).not.toContain("KUBECTL_REMOTE_COMMAND_WEBSOCKETS");
  }, 60_000);

  test("raw path tricks through kubectl never reach another cluster", async () => {
    const prodSim = sims.prod;
    prodSim.resetRequests();
    for (const raw of ["/api/../../prod-a/api", "/api/%2e%2e/%2e%2e/prod-a/api", "/..%2f..%2fprod-a/api"]) {
      const r = await kubectl(env("dev-a"), ["get", "--raw", raw]);
      expect(r.code).not.toBe(0);
    }
    expect(prodSim.requests().filter((q) => q.impersonatedBy !== undefined)).toEqual([]);
  }, 60_000);

  test("a cluster outside the user's roles is forbidden", async () => {
    const r = await kubectl(env("prod-a"), ["get", "pods"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.toLowerCase()).toContain("forbidden");
  }, 60_000);

  test("an expired token is refused with 401 and no upstream request", async () => {
    dev.resetRequests();
    const r = await kubectl(env("dev-a", expiredToken), ["get", "pods"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/must be logged in|Unauthorized/);
    // Only the gateway's own health checks may appear; nothing kubectl sent got through.
    expect(dev.requests().filter((q) => q.userAgent?.startsWith("kubectl"))).toEqual([]);
    expect(dev.requests().filter((q) => q.impersonatedBy !== undefined)).toEqual([]);
  }, 60_000);

  test("@kubernetes/client-node lists pods through the gateway", async () => {
    const e = env("dev-a");
    const caFile = `${e.dir}/gateway-ca.pem`;
    await Bun.write(caFile, gw.gateway.caPem!);
    const p = Bun.spawn([process.execPath, `${import.meta.dir}/client-node-list.ts`], {
      env: { ...e.env, NODE_EXTRA_CA_CERTS: caFile },
      stdout: "pipe",
      stderr: "pipe",
      timeout: 20_000,
    });
    const [out, err, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(JSON.parse(out)).toContain("web-0");
  }, 60_000);

  test("health checks reach each cluster; ctl kube ls shows the served set with status", async () => {
    let rows: { name: string; status: string; version?: string; canImpersonate?: boolean }[] = [];
    for (let i = 0; i < 60 && !rows.some((r) => r.name === "dev-a" && r.status !== "unknown"); i++) {
      rows = (await (await gw.fetch("/v1/status/clusters", { token: aliceToken })).json()) as typeof rows;
      await Bun.sleep(100);
    }
    expect(rows.find((r) => r.name === "dev-a")).toMatchObject({
      status: "ok",
      version: "v1.32.4",
      canImpersonate: true,
    });
    expect(rows.map((r) => r.name)).toEqual(["dev-a"]); // alice may not reach prod-a
    expect((await gw.fetch("/v1/status/clusters")).status).toBe(401);
    const ls = ["ctl", "kube", "ls", "-c", gw.configPath, "--gateway", gw.gateway.url, "--token", aliceToken];
    const { code, stdout: out, stderr: err } = await runCliCaptured(ls);
    // alice's roles do not reach prod-a, so the gateway gives no health for it; ls says why.
    expect(err).toBe(
      `note: no health for prod-a: the token's roles do not reach it, or the gateway at ${gw.gateway.url} does not serve it\n`,
    );
    expect(code).toBe(0);
    const lines = out.trim().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+LABELS\s+STATUS\s+LAST CHECK$/);
    expect(lines.find((l) => l.startsWith("dev-a"))).toMatch(/^dev-a\s+env=dev\s+ok\s+\d+s ago$/);
    expect(lines.find((l) => l.startsWith("prod-a"))).toMatch(/^prod-a\s+env=prod\s+-\s+-$/);
  }, 60_000);

  test("serves the JWKS of the registry's signing keys", async () => {
    const res = await gw.fetch("/.well-known/jwks.json");
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as { keys: { kid: string; d?: string }[] };
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => k.kid && k.d === undefined)).toBe(true);
  });

  test("a cluster removed from the registry is refused within 1 s", async () => {
    const e = env("dev-a");
    expect((await kubectl(e, ["get", "pods"])).code).toBe(0);
    await gw.backend.delete("kube_cluster", "dev-a");
    const t0 = performance.now();
    let status = 0;
    while (performance.now() - t0 < 1000) {
      status = (await gw.fetch("/v1/clusters/dev-a/version", { token: aliceToken })).status;
      if (status === 404) break;
      await Bun.sleep(25);
    }
    expect(status).toBe(404);
    const r = await kubectl(e, ["get", "pods"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("not found");
  }, 60_000);
});
