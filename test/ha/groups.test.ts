// Two discovery groups over one registry and one AWS account (issue 5 item 5): disjoint matchers
// never delete each other's clusters; overlapping matchers (a misconfiguration) show first-writer
// ownership and a conflict warning, never a fight.
//
// One process per group: ownership and deletion are decided per group (reconcile only touches
// resources labelled with its own group, and one leader per group writes), and two processes in
// one group are covered by pair.test.ts; a second process per group would add load, not a case.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { KubeCluster, Watcher } from "../../src/registry/index.ts";
import type { SimClusterSeed } from "../../src/sim/index.ts";
import { HA_ACCOUNT, type Ha, startHa, until } from "../helpers/ha.ts";

const GROUP_LABEL = "kubeport.dev/discovery-group";
const CLUSTERS: SimClusterSeed[] = [
  { name: "east-1", region: "us-east-1", tags: { team: "east" } },
  { name: "east-2", region: "us-east-1", tags: { team: "east" } },
  { name: "east-3", region: "us-west-2", tags: { team: "east" } },
  { name: "west-1", region: "us-east-1", tags: { team: "west" } },
  { name: "west-2", region: "us-west-2", tags: { team: "west" } },
  { name: "west-3", region: "us-west-2", tags: { team: "west" } },
];

interface FeedEvent {
  type: "put" | "delete";
  name: string;
  group: string | undefined;
  at: number;
}

describe("two discovery groups over one registry and one AWS account", () => {
  let ha: Ha;
  let watcher: Watcher | undefined;
  const feed: FeedEvent[] = [];
  /** Last known owner of every name, to attribute deletes. */
  const owner = new Map<string, string | undefined>();

  const byGroup = async () => {
    const out: Record<string, string[]> = {};
    for (const r of await (await ha.registry()).list("kube_cluster")) {
      const g = r.metadata.labels?.[GROUP_LABEL] ?? "(none)";
      out[g] = [...(out[g] ?? []), r.metadata.name];
    }
    for (const names of Object.values(out)) names.sort();
    return out;
  };

  beforeAll(async () => {
    ha = await startHa({
      clusters: CLUSTERS,
      pollInterval: "1s",
      lockTtl: "3s",
      processes: [
        { name: "east", group: "east", tags: { team: "east" } },
        { name: "west", group: "west", tags: { team: "west" } },
        // The misconfiguration: a group whose matcher selects both teams' clusters.
        { name: "all", group: "all", tags: { team: ["east", "west"] }, autostart: false },
      ],
    });
    watcher = (await ha.registry()).watch({ kinds: ["kube_cluster"] }, (e) => {
      if (e.type === "init") {
        for (const r of e.resources) owner.set(r.metadata.name, r.metadata.labels?.[GROUP_LABEL]);
        return;
      }
      const name = e.type === "put" ? e.resource.metadata.name : e.name;
      const group = e.type === "put" ? e.resource.metadata.labels?.[GROUP_LABEL] : owner.get(name);
      if (e.type === "put") owner.set(name, group);
      feed.push({ type: e.type, name, group, at: Date.now() });
    });
    await until(
      async () => {
        const g = await byGroup();
        return g.east?.length === 3 && g.west?.length === 3;
      },
      30_000,
      "both groups to register their clusters",
    );
  }, 120_000);

  afterAll(async () => {
    watcher?.close();
    await ha?.stop();
  }, 60_000);

  test("across many polls neither group deletes the other's clusters", async () => {
    await ha.sim.resetCalls();
    const t0 = Date.now();
    const counts: Record<string, string[]>[] = [];
    const sample = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        counts.push(await byGroup());
        await Bun.sleep(100);
      }
    };
    await sample(4000);
    // Each group's own changes still apply: east gains a cluster, west loses one.
    await ha.sim.addCluster({ name: "east-4", region: "us-west-2", tags: { team: "east" } });
    await ha.sim.deleteCluster(HA_ACCOUNT, "us-west-2", "west-3");
    await until(
      async () => {
        const g = await byGroup();
        return g.east?.length === 4 && g.west?.length === 2;
      },
      10_000,
      "east-4 registered and west-3 removed",
    );
    const mid = counts.length;
    await sample(4000);

    const polls = new Map(
      [...(await ha.awsCalls(["eks:ListClusters"]))].map(([name, calls]) => [name, calls.length / 2]),
    );
    expect(polls.get("east")).toBeGreaterThanOrEqual(6);
    expect(polls.get("west")).toBeGreaterThanOrEqual(6);
    for (const [i, g] of counts.entries()) {
      expect(g.west ?? []).toEqual(i < mid ? ["west-1", "west-2", "west-3"] : ["west-1", "west-2"]);
      expect(g.east ?? []).toEqual(
        i < mid ? ["east-1", "east-2", "east-3"] : ["east-1", "east-2", "east-3", "east-4"],
      );
      expect(Object.keys(g).sort()).toEqual(["east", "west"]);
    }
    const deletes = feed.filter((e) => e.type === "delete" && e.at >= t0);
    expect(deletes).toEqual([{ type: "delete", name: "west-3", group: "west", at: expect.any(Number) }]);
  }, 60_000);

  test("a misconfigured third group watching both teams' clusters: first writer owns, the other warns, nobody fights", async () => {
    const all = ha.proc("all");
    const before = await byGroup();
    const t0 = Date.now();
    await all.start();
    await all.waitReady();
    await until(async () => (await ha.lock("all")) !== undefined, 10_000, "the misconfigured group's leader");
    // Several polls of all three groups, then a new cluster both `east` and `all` match.
    await Bun.sleep(3000);
    await ha.sim.addCluster({ name: "east-5", region: "us-east-1", tags: { team: "east" } });
    await until(
      async () => (await byGroup()).east?.includes("east-5") || (await byGroup()).all?.includes("east-5"),
      10_000,
      "east-5 registered",
    );
    await Bun.sleep(4000);

    const after = await byGroup();
    const text = await ha.ctl(["get", "kube_cluster", "-v"]);
    const json = await ha.ctlJson<KubeCluster[]>(["get", "kube_cluster"]);
    const status = await ha.ctl(["discovery", "status", "all"]);
    console.log(
      `misconfigured pair — ctl get kube_cluster -v:\n${text.stdout}\nctl discovery status all:\n${status.stdout}`,
    );

    // Every cluster registered before keeps its owner; east-5 has exactly one owner.
    const owned = (g: Record<string, string[]>, who: string) => (g[who] ?? []).filter((n) => n !== "east-5");
    expect(owned(after, "east")).toEqual(before.east!);
    expect(owned(after, "west")).toEqual(before.west!);
    expect(owned(after, "all")).toEqual([]);
    const east5Owners = json
      .filter((r) => r.metadata.name === "east-5")
      .map((r) => r.metadata.labels?.[GROUP_LABEL]);
    expect(east5Owners).toHaveLength(1);
    expect(["east", "all"]).toContain(east5Owners[0]!);
    expect(json.map((r) => r.metadata.name).sort()).toEqual(
      [...before.east!, "east-5", ...before.west!].sort(),
    );

    // Nobody fought: no deletes, and each name was written once at most since `all` started (east-5's create).
    const since = feed.filter((e) => e.at >= t0);
    expect(since.filter((e) => e.type === "delete")).toEqual([]);
    expect(since.map((e) => e.name)).toEqual(["east-5"]);

    // The loser of each name is told, once per name, in its log.
    const conflictNames = (logs: ReturnType<typeof all.logs>) =>
      logs
        .filter((l) => l.msg.startsWith("a kube_cluster of this name exists and is not owned"))
        .map((l) => l.name as string)
        .sort();
    const allConflicts = conflictNames(all.logs());
    const expectedForAll = [
      ...before.east!,
      ...before.west!,
      ...(east5Owners[0] === "east" ? ["east-5"] : []),
    ].sort();
    expect(allConflicts).toEqual(expectedForAll);
    expect(conflictNames(ha.proc("east").logs())).toEqual(east5Owners[0] === "all" ? ["east-5"] : []);
    // The status of the misconfigured group shows it matched clusters it did not write.
    expect(status.stdout).toContain("Discovery group: all");
    expect(status.stdout).toMatch(/Clusters: +7 matched/);
    const notOurs = expectedForAll.length;
    expect(status.stdout).toContain(
      `Not written:     ${notOurs} matched cluster(s) held by another owner, left alone:`,
    );
    const eastNames = [...before.east!, ...(east5Owners[0] === "east" ? ["east-5"] : [])].sort();
    expect(status.stdout).toContain(`  - group east: ${eastNames.join(", ")}\n`);
    expect(status.stdout).toContain(`  - group west: ${before.west!.join(", ")}\n`);
    expect(status.stdout).toContain("give each group disjoint tags");
    // The correctly configured groups report no conflicts.
    expect((await ha.ctl(["discovery", "status", "west"])).stdout).not.toContain("Not written");
  }, 90_000);
});
