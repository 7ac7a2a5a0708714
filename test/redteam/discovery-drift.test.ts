// Red team 5 on issue 12's steady state (discovery skips rebuilding and comparing what did not
// change): every change must still be applied, whichever side it comes from. AWS changes (a tag, the
// endpoint) made between polls whose content repeats, and registry edits by hand (a label, the
// endpoint: a kube_cluster pointed somewhere else) of a discovered cluster whose AWS side did not
// change at all: the leader puts the registry back in step with AWS within seconds.
import { afterEach, expect, test } from "bun:test";
import type { KubeCluster } from "../../src/registry/index.ts";
import { DEFAULT_ACCOUNT } from "../../src/sim/aws/identity.ts";
import { type Harness, makeConfig, startHarness } from "../discovery/harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const until = async (what: string, cond: () => Promise<boolean>, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
};

/** A leader polling every second over one cluster `a` (tag team=red), after a few identical polls. */
async function steady() {
  h = await startHarness(
    { clusters: [{ name: "a", region: "us-east-1", tags: { team: "red" } }] },
    makeConfig({ group: "drift", pollInterval: "1s", matchers: [{ tags: {}, setup_access: false }] }),
  );
  const hh = h;
  const s = hh.service({ holder: "solo" });
  await s.start();
  const get = async () => (await hh.backend.get("kube_cluster", "a")) as KubeCluster | undefined;
  await until("a enrolled", async () => (await get()) !== undefined);
  const lists = () => hh.sim.state.calls().filter((c) => c.action === "eks:ListClusters").length;
  const from = lists();
  await until("three more polls with the same content", async () => lists() >= from + 3);
  return { hh, get, first: (await get())! };
}

test("a tag changed in AWS after polls that found the same reaches the registry", async () => {
  const { hh, get } = await steady();
  hh.sim.state.tagCluster(DEFAULT_ACCOUNT, "us-east-1", "a", { team: "blue" });
  await until("team=blue", async () => (await get())?.metadata.labels?.team === "blue");
});

test("a label edited by hand on a discovered cluster is put back although AWS did not change", async () => {
  const { hh, get, first } = await steady();
  await hh.backend.put({
    ...first,
    metadata: { ...first.metadata, labels: { ...first.metadata.labels, team: "hijacked" } },
  });
  await until("team back to red", async () => (await get())?.metadata.labels?.team === "red");
});

test("an endpoint edited by hand on a discovered cluster (pointed elsewhere) is put back although AWS did not change", async () => {
  const { hh, get, first } = await steady();
  const endpoint = first.spec.endpoint;
  await hh.backend.put({ ...first, spec: { ...first.spec, endpoint: "https://attacker.example:443" } });
  await until("endpoint back", async () => (await get())?.spec.endpoint === endpoint);
});

test("a tag change that reads the same when tags are joined as k=v (an `=` moved from value to key) reaches the registry", async () => {
  h = await startHarness(
    { clusters: [{ name: "a", region: "us-east-1", tags: { team: "red=1" } }] },
    makeConfig({ group: "drift", pollInterval: "1s", matchers: [{ tags: {}, setup_access: false }] }),
  );
  const hh = h;
  await hh.service({ holder: "solo" }).start();
  const get = async () => (await hh.backend.get("kube_cluster", "a")) as KubeCluster | undefined;
  await until("a enrolled", async () => (await get())?.metadata.labels?.team === "red=1");
  // EKS tag keys and values may both hold "=": {team: "red=1"} → {"team=red": "1"}.
  hh.sim.state.untagCluster(DEFAULT_ACCOUNT, "us-east-1", "a", ["team"]);
  hh.sim.state.tagCluster(DEFAULT_ACCOUNT, "us-east-1", "a", { "team=red": "1" });
  const lists = () => hh.sim.state.calls().filter((c) => c.action === "eks:ListClusters").length;
  const from = lists();
  await until("three polls that saw it", async () => lists() >= from + 3);
  await until("the team label gone", async () => (await get())?.metadata.labels?.team === undefined, 10_000);
});

test("the gateway's access entry deleted in AWS (nothing DescribeCluster shows) is made again within 10 poll intervals of a steady state", async () => {
  h = await startHarness(
    { clusters: [{ name: "a", region: "us-east-1", authenticationMode: "API", creatorAdmin: false }] },
    makeConfig({ group: "drift", pollInterval: "1s", matchers: [{ tags: {} }] }),
  );
  const hh = h;
  await hh.service({ holder: "solo" }).start();
  const me = `arn:aws:iam::${DEFAULT_ACCOUNT}:user/sim-admin`;
  const cluster = () => hh.sim.state.getCluster(DEFAULT_ACCOUNT, "us-east-1", "a")!;
  await until("the entry made", async () => cluster().accessEntries.has(me));
  const lists = () => hh.sim.state.calls().filter((c) => c.action === "eks:ListClusters").length;
  const from = lists();
  await until("three polls with the same content", async () => lists() >= from + 3);
  cluster().accessEntries.delete(me);
  await until("the entry made again", async () => cluster().accessEntries.has(me), 60_000);
}, 90_000);
