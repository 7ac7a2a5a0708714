// `kubeport logout` ends the login session's open streams on every gateway: two gateways on one
// registry, a person signed in through the first with an exec and a watch open through it (real
// kubectl with the exec plugin) and a watch through the second (the same session's cluster token);
// logging out closes all three upstream, each telling why, and the token opens nothing more.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { eksCredentials, totpCode } from "../../src/gateway/index.ts";
import { openSqliteBackend } from "../../src/registry/index.ts";
import { startDevProdSim, startTestGateway, type TestGateway } from "../gateway/fixture.ts";
import { type KubectlStream, kubectlEnv, kubectlStream } from "../helpers/kubectl.ts";
import { acceptInviteByForm, inviteUser, PASSWORD, type Person, person, roles } from "./harness.ts";

setDefaultTimeout(120_000);

let sims: Awaited<ReturnType<typeof startDevProdSim>>;
let a: TestGateway;
let b: TestGateway;
let alice: Person;
const streams: KubectlStream[] = [];
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  sims = await startDevProdSim();
  const opts = { realAuth: true, credentials: eksCredentials(), clusters: sims.clusters, resources: roles };
  a = await startTestGateway({ ...opts, web: true });
  // The second gateway of the pair: the same registry (SQLite file), its own listener and TLS.
  b = await startTestGateway({
    ...opts,
    backend: openSqliteBackend({ path: join(a.dir, "registry.db"), pollMs: 50 }),
  });
  alice = person();
});
afterAll(async () => {
  for (const s of streams) await s.stop();
  for (const c of cleanups) c();
  alice?.remove();
  await b?.close();
  await a?.close();
  await sims?.close();
});

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

test("logout ends the session's exec and watches on both gateways, with the reason", async () => {
  const { secret } = await acceptInviteByForm(
    { gw: a } as never,
    await inviteUser({ gw: a }, "alice", "dev"),
  );
  const caFile = join(a.dir, "gateway-ca.pem");
  await Bun.write(caFile, a.gateway.caPem!);
  const proxy = new URL(a.gateway.url).host;
  const login = await alice.kubeport(
    ["login", "--proxy", `https://${proxy}`, "--user", "alice", "--ca-file", caFile],
    {
      stdin: `${PASSWORD}\n${totpCode(secret, Date.now() + 30_000)}\n`,
    },
  );
  expect(login.stderr).not.toContain("error");
  expect(login.code).toBe(0);

  // Through gateway A: kubectl with the exec plugin, as alice uses it.
  const viaPlugin = {
    dir: alice.home,
    kubeconfig: alice.kubeconfig,
    env: { ...alice.env, KUBECONFIG: alice.kubeconfig },
    cleanup() {},
  };
  const ctx = "127.0.0.1-dev-a";
  const before = sims.dev.liveStreams();
  streams.push(kubectlStream(viaPlugin, ["--context", ctx, "get", "pods", "-w"], { timeoutMs: 110_000 }));
  streams.push(
    kubectlStream(viaPlugin, ["--context", ctx, "exec", "web-0", "--", "sleep", "600"], {
      timeoutMs: 110_000,
    }),
  );
  // Through gateway B: the same session's cluster token.
  const cred = await alice.kubeport(["kube", "credentials", `--proxy=${proxy}`, "--cluster=dev-a"]);
  expect(cred.code).toBe(0);
  const token = JSON.parse(cred.stdout).status.token as string;
  const viaB = kubectlEnv({ server: `${b.gateway.url}/v1/clusters/dev-a`, token, caPem: b.gateway.caPem! });
  cleanups.push(viaB.cleanup);
  streams.push(kubectlStream(viaB, ["get", "pods", "-w"], { timeoutMs: 110_000 }));
  const [watchA, execA, watchB] = streams as [KubectlStream, KubectlStream, KubectlStream];
  await until("the three streams to be open upstream", () => {
    const now = sims.dev.liveStreams();
    return now.exec === before.exec + 1 && now.watch === before.watch + 2;
  });

  const out = await alice.kubeport(["logout"]);
  expect(out.code).toBe(0);
  expect(out.stdout).toContain(`Logged out alice from ${proxy}.`);
  await until("every stream to close upstream", () => {
    const now = sims.dev.liveStreams();
    return now.exec === before.exec && now.watch === before.watch;
  });
  const why = "kubeport: your login session has ended (signed out): run kubeport login";
  expect(await execA.exited).toBe(1);
  expect(execA.stderr()).toContain(why);
  for (const w of [watchA, watchB]) {
    expect(await w.exited).toBe(0);
    expect(w.stdout()).toMatch(new RegExp(`Failure\\s+Unauthorized\\s+${why.replace(/[()]/g, "\\$&")}`));
  }
  // The token opens nothing more, on either gateway.
  for (const gw of [a, b]) {
    const res = await gw.fetch("/v1/clusters/dev-a/api/v1/namespaces/default/pods", { token });
    expect(res.status).toBe(401);
  }
});
