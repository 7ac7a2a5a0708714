// Issue 17 §1: Redis Cluster 3+3, `DEBUG SLEEP 12` on the primary holding {kubeport}. Its replica is
// promoted while it sleeps; when it wakes it still answers as a primary for a moment. Before the fix
// the leader re-took the lock there (WAIT failed, the lease was used anyway) while the other process
// was elected on the new primary with the same fencing token: two leaders, one token, a
// kube_cluster deleted through the fence. Now: the tokens each process leads with are disjoint, the
// leadership intervals never overlap, AWS is polled only by the lease holder, nothing is deleted,
// and discovery resumes.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { DiscoveryStatus, Watcher } from "../../src/registry/index.ts";
import type { SimClusterSeed } from "../../src/sim/index.ts";
import { type Ha, type KubeportProcess, startHa, until } from "../helpers/ha.ts";
import { diagnose } from "./fault-kit.ts";
import { leadership, overlaps, pollsOutsideLeadership } from "./leadership.ts";

const CLUSTERS: SimClusterSeed[] = [
  { name: "prod-east", region: "us-east-1", tags: { env: "prod" } },
  { name: "prod-west", region: "us-west-2", tags: { env: "prod" } },
];
const SLEEP_S = 12;

let ha: Ha;
let watcher: Watcher | undefined;
const deleted: string[] = [];
const statusWrites: { holder: string; token: number }[] = [];

beforeAll(async () => {
  ha = await startHa({ clusters: CLUSTERS, redis: "cluster", lockTtl: "15s", pollInterval: "1s" });
  const backend = await ha.registry();
  await until(
    async () => (await backend.list("kube_cluster")).length === CLUSTERS.length,
    30_000,
    "discovery to register both clusters",
  );
  watcher = backend.watch({ kinds: ["kube_cluster", "discovery_status"] }, (e) => {
    if (e.type === "delete" && e.kind === "kube_cluster") deleted.push(e.name);
    if (e.type === "put" && e.resource.kind === "discovery_status") {
      const s = (e.resource as DiscoveryStatus).spec;
      statusWrites.push({ holder: s.holder, token: s.fence_token });
    }
  });
}, 120_000);

afterAll(async () => {
  watcher?.close();
  await ha?.stop();
}, 60_000);

test(`DEBUG SLEEP ${SLEEP_S} on the registry's Cluster primary: never two leaders, tokens never reused, nothing deleted, discovery resumes`, async () => {
  const leader = await ha.waitLeader();
  const primary = await ha.redis.registryPrimary();
  const t0 = Date.now();
  const sleeper = Bun.spawn(
    ["redis-cli", "-h", "127.0.0.1", "-p", String(primary.port), "DEBUG", "SLEEP", String(SLEEP_S)],
    { stdout: "ignore", stderr: "ignore" },
  );
  await sleeper.exited;
  // The old primary is awake (and soon a replica); give both processes time to act on what they see.
  const promoted = await ha.redis.registryPrimary();
  expect(promoted.port).not.toBe(primary.port);
  const resumed = await until(
    async () => {
      const p = await ha.leader().catch(() => undefined);
      if (!p) return undefined;
      const calls = (await ha.awsCalls(["eks:ListClusters"])).get(p.name) ?? [];
      return calls.some((c) => c.at > Date.now() - 2000) ? p : undefined;
    },
    60_000,
    "a leader polling AWS again",
    200,
  );
  await Bun.sleep(5000);

  const calls = await ha.awsCalls(["eks:ListClusters"]);
  const intervals = new Map(ha.procs.map((p) => [p.name, leadership(p)]));
  const why = async () => `\n${await diagnose(ha, t0 - 3000)}`;
  const electedTokens = (p: KubeportProcess) => intervals.get(p.name)!.map((i) => i.token);
  const [a, b] = ha.procs as [KubeportProcess, KubeportProcess];
  const shared = electedTokens(a).filter((t) => electedTokens(b).includes(t));
  console.info(
    `DEBUG SLEEP ${SLEEP_S}: leader before ${leader.name}, after ${resumed.name}; elected ${ha.procs
      .map((p) => `${p.name} ${JSON.stringify(electedTokens(p))}`)
      .join(", ")}`,
  );
  expect({ shared, diag: shared.length ? await why() : "" }).toEqual({ shared: [], diag: "" });
  const overlap = overlaps(intervals);
  expect({ overlap, diag: overlap.length ? await why() : "" }).toEqual({ overlap: [], diag: "" });
  const outside = pollsOutsideLeadership(calls, intervals, 250, t0 - 3000);
  expect({ outside, diag: outside.length ? await why() : "" }).toEqual({ outside: [], diag: "" });
  // The discovery status is written by one holder per token.
  const holders = new Map<number, Set<string>>();
  for (const s of statusWrites) holders.set(s.token, (holders.get(s.token) ?? new Set()).add(s.holder));
  expect([...holders].filter(([, h]) => h.size > 1)).toEqual([]);
  expect(deleted).toEqual([]);
  const names = (await (await ha.registry()).list("kube_cluster")).map((r) => r.metadata.name).sort();
  expect(names).toEqual(CLUSTERS.map((c) => c.name).sort());
}, 150_000);
