// Issue 17 §4: SIGTERM of a gateway with open streams, behind a load balancer (test/helpers/tcp-lb.ts:
// health check /healthz, redispatch on a refused connection). Before the fix the process exited in
// ~30 ms and cut everything: kubectl get -w ended "unexpected EOF", exec got 1001. Now: /healthz and
// /readyz answer 503 at once; the open streams go on through shutdown_grace; then the watch ends
// cleanly (kubectl exits 0, an informer lists and watches again, through the other gateway), the
// exec session is told why; the process exits 0; requests through the load balancer never fail.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Ha, type KubeportProcess, startHa, until } from "../helpers/ha.ts";
import {
  type Interactive,
  type KubectlEnv,
  kubectl,
  kubectlEnv,
  kubectlInteractive,
  kubectlStream,
  spawnCollecting,
} from "../helpers/kubectl.ts";
import { startTcpLb, type TcpLb } from "../helpers/tcp-lb.ts";
import { tlsCert } from "../helpers/tls-upstream.ts";
import { podsPath, tokenFor } from "./fault-kit.ts";

const DELAY_MS = 1000;
const GRACE_MS = 4000;
const certDir = mkdtempSync(join(tmpdir(), "kubeport-drain-"));
let ha: Ha;
let a: KubeportProcess;
let b: KubeportProcess;
let lb: TcpLb;
let caPem: string;
let env: KubectlEnv;
let token: string;

beforeAll(async () => {
  // One certificate for both gateways, as behind a real load balancer.
  const cert = await tlsCert("kubeport");
  caPem = cert.caPem;
  writeFileSync(join(certDir, "tls.crt"), cert.tls.cert);
  writeFileSync(join(certDir, "tls.key"), cert.tls.key, { mode: 0o600 });
  ha = await startHa({
    clusters: [{ name: "prod-east", region: "us-east-1", tags: { env: "prod" } }],
    redis: "sentinel",
    pollInterval: "5s",
    podsPerCluster: 1,
    caPem,
    proxy: {
      https_keypairs: [{ cert_file: join(certDir, "tls.crt"), key_file: join(certDir, "tls.key") }],
      shutdown_delay: `${DELAY_MS}ms`,
      shutdown_grace: `${GRACE_MS}ms`,
    },
  });
  [a, b] = [ha.proc("a"), ha.proc("b")];
  await ha.addUser("alice");
  token = await tokenFor(ha, a, "alice");
  lb = await startTcpLb(
    [
      { name: "a", port: a.port },
      { name: "b", port: b.port },
    ],
    { caPem },
  );
  env = kubectlEnv({ server: `https://127.0.0.1:${lb.port}/v1/clusters/prod-east`, token, caPem });
  await until(
    async () => (await kubectl(env, ["get", "pods", "-o", "name"])).stdout.includes("pod/web-0"),
    60_000,
    "prod-east served through the load balancer",
    200,
  );
}, 120_000);

afterAll(async () => {
  env?.cleanup();
  lb?.stop();
  await ha?.stop();
  rmSync(certDir, { recursive: true, force: true });
}, 60_000);

/** GET pods through the load balancer every 100 ms; every status seen. */
function probe() {
  const statuses: number[] = [];
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const s = await fetch(`https://127.0.0.1:${lb.port}${podsPath("prod-east")}`, {
        headers: { authorization: `Bearer ${token}` },
        tls: { ca: caPem },
        signal: AbortSignal.timeout(5000),
      })
        .then(async (r) => {
          await r.body?.cancel();
          return r.status;
        })
        .catch(() => 0);
      statuses.push(s);
      await Bun.sleep(100);
    }
  })();
  return {
    statuses,
    async stop() {
      stop = true;
      await loop;
      return statuses;
    },
  };
}

test("SIGTERM drains: 503 at once, streams go on for shutdown_grace, then the watch ends cleanly (an informer re-lists through the other gateway) and exec is told why; no request fails", async () => {
  const watch = kubectlStream(env, ["get", "pods", "-w", "-o", "name"], { timeoutMs: 120_000 });
  const exec: Interactive = kubectlInteractive(env, ["exec", "-i", "web-0", "--", "cat"]);
  const caFile = join(env.dir, "lb-ca.pem");
  writeFileSync(caFile, caPem);
  const informer = spawnCollecting([process.execPath, `${import.meta.dir}/client-node-informer.ts`], {
    ...env.env,
    NODE_EXTRA_CA_CERTS: caFile,
  });
  const requests = probe();
  try {
    await watch.waitFor((o) => o.includes("pod/web-0"));
    await informer.waitFor((o) => o.includes('"name":"web-0"'), "the informer's first list");
    exec.stdin.write("before\n");
    exec.stdin.flush();
    await exec.waitFor((o) => o.includes("before"), "exec echo");
    // Every stream went to a, the first healthy backend.
    expect(new Set(lb.routed)).toEqual(new Set(["a"]));

    const t0 = Date.now();
    const exited = a.terminate(GRACE_MS + DELAY_MS + 20_000);
    // At once: the health checks fail, while a still accepts for shutdown_delay.
    const draining = await until(
      async () => {
        const [h, r] = await Promise.all(
          ["/healthz", "/readyz"].map((p) => a.fetch(p).catch(() => undefined)),
        );
        return h?.status === 503 && r?.status === 503 ? await r.text() : undefined;
      },
      DELAY_MS,
      "/healthz and /readyz 503 on a",
      20,
    );
    expect(draining).toBe("draining: this gateway is shutting down");
    await until(() => !lb.healthy().includes("a"), 5000, "the load balancer to take a out", 20);

    // Within the grace the open streams go on.
    await Bun.sleep(DELAY_MS + 500);
    exec.stdin.write("during\n");
    exec.stdin.flush();
    await exec.waitFor((o) => o.includes("during"), "exec echo during the grace");
    expect(watch.proc.exitCode).toBeNull();

    const code = await exited;
    const drainMs = Date.now() - t0;
    const watchCode = await watch.exited;
    const execCode = await exec.proc.exited;
    console.info(
      `SIGTERM drain: exited ${code} after ${drainMs} ms (shutdown_delay ${DELAY_MS} + shutdown_grace ${GRACE_MS}); kubectl get -w exit ${watchCode} stderr ${JSON.stringify(
        watch.stderr(),
      )}; kubectl exec exit ${execCode}: ${exec.stderr().trim().split("\n").at(-1)}`,
    );
    expect(code).toBe(0);
    expect(drainMs).toBeGreaterThanOrEqual(DELAY_MS + GRACE_MS);
    expect({ watchCode, stderr: watch.stderr() }).toEqual({ watchCode: 0, stderr: "" });
    expect(execCode).toBe(1);
    expect(exec.stderr()).toContain("this gateway is shutting down");

    // The informer lists and watches again, through the load balancer, now to b: it sees a pod made now.
    expect((await kubectl(env, ["run", "after-drain", "--image=busybox", "--restart=Never"])).code).toBe(0);
    await informer.waitFor(
      (o) => o.includes('"name":"after-drain"'),
      "the informer to see after-drain",
      30_000,
    );
    expect(informer.stdout()).not.toContain('"event":"error"');
    await Bun.sleep(500);
    const statuses = await requests.stop();
    expect(statuses.length).toBeGreaterThan(30);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(lb.routed.slice(-3)).toEqual(["b", "b", "b"]);
  } finally {
    await requests.stop();
    await watch.stop();
    for (const s of [exec, informer]) {
      s.proc.kill("SIGKILL");
      await s.proc.exited;
    }
    if (!a.alive()) {
      await a.start();
      await a.waitReady();
    }
  }
}, 120_000);
