// revocation latency — time from a `users rm` (a registry delete) to the end of that user's open
// streams: an exec (WebSocket), a watch and a logs -f, relayed by a gateway in front of a simulated
// EKS cluster. Measured at the client (its stream ends) and upstream (the simulated API server sees
// it closed). Two set-ups: one gateway on a SQLite registry (default 150 ms change poll), and an HA
// pair on one Redis with the streams on gateway B and the delete made through A's connection.
//   bun scripts/revocation-latency.ts [--rounds 10] [--setups sqlite,redis]
import { join } from "node:path";
import { parseArgs } from "node:util";
import { issueUserToken, kubeportIssuer } from "../src/gateway/auth/index.ts";
import { eksCredentials } from "../src/gateway/index.ts";
import { type Backend, openRedisBackend, openSqliteBackend } from "../src/registry/index.ts";
import { startDevProdSim, startTestGateway, type TestGateway, testRoles } from "../test/gateway/fixture.ts";
import { startRedisStandalone } from "../test/helpers/redis.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "10" },
    setups: { type: "string", default: "sqlite,redis" },
  },
});
const ROUNDS = Number(args.rounds);
const GIVE_UP_MS = 30_000;
const log = (s: string) => process.stderr.write(`${s}\n`);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) return false;
    await Bun.sleep(1);
  }
  return true;
}

type Sims = Awaited<ReturnType<typeof startDevProdSim>>;

/** One round: open three streams as a fresh user through `via`, delete the user through `writer`. */
async function round(sims: Sims, writer: Backend, via: TestGateway, i: number) {
  const name = `lat-${i}-${Date.now()}`;
  await writer.put({
    kind: "user",
    version: "v1",
    metadata: { name },
    spec: { roles: ["dev"], created: new Date().toISOString() },
  });
  const token = await issueUserToken(writer, {
    user: name,
    issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
  });
  const base = `${via.gateway.url}/v1/clusters/dev-a/api/v1/namespaces/default`;
  const before = sims.dev.liveStreams();
  const ended: Record<string, number> = {};
  const ws = new WebSocket(
    `${base.replace("https", "wss")}/pods/web-0/exec?command=sleep&command=600&stdout=true`,
    {
      headers: { authorization: `Bearer ${token}` },
      protocols: ["v5.channel.k8s.io"],
      tls: { ca: via.gateway.caPem },
    } as never,
  );
  ws.addEventListener("close", () => {
    ended.exec = performance.now();
  });
  const drain = async (what: string, path: string) => {
    const res = await via.fetch(path, { token });
    for await (const _ of res.body!) {
      // read until the gateway ends it
    }
    ended[what] = performance.now();
  };
  void drain("watch", "/v1/clusters/dev-a/api/v1/namespaces/default/pods?watch=true").catch(() => {});
  void drain("logs", "/v1/clusters/dev-a/api/v1/namespaces/default/pods/web-1/log?follow=true").catch(
    () => {},
  );
  const opened = await until(() => {
    const n = sims.dev.liveStreams();
    return n.exec === before.exec + 1 && n.watch === before.watch + 1 && n.logs === before.logs + 1;
  }, 20_000);
  if (!opened) throw new Error("streams did not open");

  const t0 = performance.now();
  await writer.delete("user", name);
  const upstreamClosed = await until(() => {
    const n = sims.dev.liveStreams();
    return n.exec === before.exec && n.watch === before.watch && n.logs === before.logs;
  }, GIVE_UP_MS);
  const upstream = upstreamClosed ? performance.now() - t0 : Number.POSITIVE_INFINITY;
  await until(() => Object.keys(ended).length === 3, 5000);
  const client = Object.fromEntries(
    ["exec", "watch", "logs"].map((k) => [k, ended[k] ? ended[k]! - t0 : Number.POSITIVE_INFINITY]),
  );
  return { upstream, ...client } as Record<"upstream" | "exec" | "watch" | "logs", number>;
}

async function measure(setup: string) {
  const sims = await startDevProdSim();
  const redis = setup === "redis" ? await startRedisStandalone() : undefined;
  const dir = (await import("node:fs")).mkdtempSync(join((await import("node:os")).tmpdir(), "kp-lat-"));
  const backend = (): Backend =>
    redis
      ? openRedisBackend({ url: redis.url, key_prefix: `lat-${process.pid}` })
      : openSqliteBackend({ path: join(dir, "registry.db") });
  const gw = (b: Backend) =>
    startTestGateway({
      realAuth: true,
      credentials: eksCredentials(),
      clusters: sims.clusters,
      resources: testRoles,
      backend: b,
    });
  const a = await gw(backend());
  const b = redis ? await gw(backend()) : a;
  const rows: Record<string, number>[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) rows.push(await round(sims, a.backend, b, i));
  } finally {
    if (b !== a) await b.close();
    await a.close();
    await sims.close();
    await redis?.stop();
  }
  const line = (k: string) => {
    const xs = rows.map((r) => r[k]!);
    return `${k.padEnd(9)} p50 ${pct(xs, 50).toFixed(0).padStart(4)} ms   max ${pct(xs, 100).toFixed(0).padStart(4)} ms`;
  };
  log(
    `\n${setup === "redis" ? "redis, two gateways (delete through A, streams on B)" : "sqlite, one gateway (150 ms change poll)"}: ${ROUNDS} rounds, users rm → end`,
  );
  for (const k of ["upstream", "exec", "watch", "logs"]) log(`  ${line(k)}`);
}

for (const setup of String(args.setups).split(",")) await measure(setup.trim());
process.exit(0);
