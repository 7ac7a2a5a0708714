// Issue 5 item 6: a watch and an exec session through gateway A, and the same through gateway B,
// when B is killed -9: A's sessions go on, B's end with an error kubectl shows, and reconnecting
// through A works.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { type Ha, type KubeportProcess, startHa, until } from "../helpers/ha.ts";
import {
  type Interactive,
  type KubectlEnv,
  type KubectlStream,
  kubectl,
  kubectlEnv,
  kubectlInteractive,
  kubectlStream,
  spawnCollecting,
} from "../helpers/kubectl.ts";
import { tokenFor } from "./fault-kit.ts";

/** @kubernetes/client-node's Watch on pods (client-node-watch.ts), one JSON line per event. */
function clientNodeWatch(env: KubectlEnv, caPem: string): Interactive {
  const caFile = `${env.dir}/gateway-ca.pem`;
  writeFileSync(caFile, caPem);
  return spawnCollecting([process.execPath, `${import.meta.dir}/client-node-watch.ts`], {
    ...env.env,
    NODE_EXTRA_CA_CERTS: caFile,
  });
}

let ha: Ha;
let a: KubeportProcess;
let b: KubeportProcess;
const envs: Record<string, KubectlEnv> = {};

beforeAll(async () => {
  ha = await startHa({
    clusters: [{ name: "prod-east", region: "us-east-1", tags: { env: "prod" } }],
    redis: "sentinel",
    pollInterval: "5s",
    podsPerCluster: 1,
  });
  [a, b] = [ha.proc("a"), ha.proc("b")];
  await ha.addUser("alice");
  for (const p of [a, b]) {
    envs[p.name] = kubectlEnv({
      server: `${p.url}/v1/clusters/prod-east`,
      token: await tokenFor(ha, p, "alice"),
      caPem: p.caPem(),
    });
    await until(
      async () => (await kubectl(envs[p.name]!, ["get", "pods", "-o", "name"])).stdout.includes("pod/web-0"),
      60_000,
      `prod-east served through ${p.name}`,
      200,
    );
  }
}, 120_000);

afterAll(async () => {
  for (const e of Object.values(envs)) e.cleanup();
  await ha?.stop();
}, 60_000);

test("killing gateway B -9 leaves A's watch and exec running; B's end with an error; reconnecting through A works", async () => {
  const watchA: KubectlStream = kubectlStream(envs.a!, ["get", "pods", "-w", "-o", "name"], {
    timeoutMs: 120_000,
  });
  const watchB: KubectlStream = kubectlStream(envs.b!, ["get", "pods", "-w", "-o", "name"], {
    timeoutMs: 120_000,
  });
  const execA = kubectlInteractive(envs.a!, ["exec", "-i", "web-0", "--", "cat"]);
  const execB = kubectlInteractive(envs.b!, ["exec", "-i", "web-0", "--", "cat"]);
  const nodeWatchA = clientNodeWatch(envs.a!, a.caPem());
  const nodeWatchB = clientNodeWatch(envs.b!, b.caPem());
  try {
    await watchA.waitFor((o) => o.includes("pod/web-0"));
    await watchB.waitFor((o) => o.includes("pod/web-0"));
    await nodeWatchA.waitFor((o) => o.includes('"name":"web-0"'), "client-node watch through A");
    await nodeWatchB.waitFor((o) => o.includes('"name":"web-0"'), "client-node watch through B");
    execA.stdin.write("before-a\n");
    execA.stdin.flush();
    execB.stdin.write("before-b\n");
    execB.stdin.flush();
    await execA.waitFor((o) => o.includes("before-a"), "A's exec echo");
    await execB.waitFor((o) => o.includes("before-b"), "B's exec echo");

    await b.kill9();

    // B's sessions end. exec: kubectl exits 1 naming the broken WebSocket. client-node's watch
    // reports the reset connection. kubectl get -w ends too, but silently with 0: client-go takes a
    // cut chunked stream for the server closing the watch (as API servers do on their timeout).
    const ended = (p: Subprocess) =>
      Promise.race([p.exited, Bun.sleep(60_000).then(() => "still running" as const)]);
    const [watchBCode, execBCode] = await Promise.all([ended(watchB.proc), ended(execB.proc)]);
    await nodeWatchB.waitFor((o) => o.includes('"done"'), "client-node watch through B to end", 60_000);
    await watchB.exited; // its stderr read to the end (kubectlStream collects it)
    const watchBErr = watchB.stderr();
    console.info(
      `after kill -9 of B — kubectl exec: exit ${execBCode}, ${execB.stderr().trim().split("\n").at(-1)}; ` +
        `kubectl get -w: exit ${watchBCode}, stderr ${JSON.stringify(watchBErr)}; client-node watch: ${nodeWatchB.stdout().trim().split("\n").at(-1)}`,
    );
    expect(execBCode).toBe(1);
    expect(execB.stderr()).toContain("websocket: close 1006 (abnormal closure): unexpected EOF");
    expect(JSON.parse(nodeWatchB.stdout().trim().split("\n").at(-1)!).done).toMatch(
      /ECONNRESET|closed|reset/i,
    );
    expect({ watchBCode, watchBErr, out: watchB.stdout() }).toEqual({
      watchBCode: 0,
      watchBErr: "",
      out: "pod/web-0\n",
    });

    // A's sessions go on: the watch sees a pod created now, the exec still echoes.
    const created = await kubectl(envs.a!, ["run", "after-kill", "--image=busybox", "--restart=Never"]);
    expect(created.code).toBe(0);
    await watchA.waitFor((o) => o.includes("pod/after-kill"), 15_000);
    await nodeWatchA.waitFor(
      (o) => o.includes('"name":"after-kill"'),
      "client-node watch through A to see after-kill",
    );
    expect(nodeWatchA.stdout()).not.toContain('"done"');
    execA.stdin.write("after-a\n");
    execA.stdin.flush();
    await execA.waitFor((o) => o.includes("after-a"), "A's exec echo after B died");
    expect(watchA.proc.exitCode).toBeNull();
    expect(execA.proc.exitCode).toBeNull();
    execA.stdin.end();
    expect(await execA.proc.exited).toBe(0);

    // B's user reconnects through A: list, exec and a watch that sees what is new.
    const list = await kubectl(envs.a!, ["get", "pods", "-o", "name"]);
    expect(list.stdout.trim().split("\n").sort()).toEqual(["pod/after-kill", "pod/web-0"]);
    const again = await kubectl(envs.a!, ["exec", "-i", "web-0", "--", "cat"], { stdin: "reconnected\n" });
    expect({ code: again.code, out: again.stdout }).toEqual({ code: 0, out: "reconnected\n" });
    const rewatch = kubectlStream(envs.a!, ["get", "pods", "-w", "-o", "name", "--watch-only"], {
      timeoutMs: 60_000,
    });
    try {
      await Bun.sleep(500);
      expect(
        (await kubectl(envs.a!, ["run", "after-reconnect", "--image=busybox", "--restart=Never"])).code,
      ).toBe(0);
      await rewatch.waitFor((o) => o.includes("pod/after-reconnect"), 15_000);
    } finally {
      await rewatch.stop();
    }
  } finally {
    for (const s of [watchA, watchB]) await s.stop();
    for (const s of [execA, execB, nodeWatchA, nodeWatchB]) {
      s.proc.kill("SIGKILL");
      await s.proc.exited;
    }
  }
}, 150_000);
