// Red team 5 on 6fe3b92 (discovery's leader follows kube_clusters through a registry watch): the
// view applies the leader's own writes when their replies arrive, and the watch's events by
// revision. On Redis the watch can deliver a write's echo, and whatever others did right after it,
// before that write's reply: the reply must not undo what the view already knows is newer.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClusterView, watchClusters } from "../../src/discovery/cluster-view.ts";
import { type Backend, openSqliteBackend, type Resource } from "../../src/registry/index.ts";
import { waitFor } from "./harness.ts";

let backend: Backend | undefined;
let view: ClusterView | undefined;
let dir = "";
afterEach(async () => {
  view?.close();
  await backend?.close();
  rmSync(dir, { recursive: true, force: true });
});

const cluster = (name: string, env: string, revision?: string): Resource =>
  ({
    kind: "kube_cluster",
    version: "v1",
    metadata: { name, labels: { env }, ...(revision ? { revision } : {}) },
    spec: { endpoint: "https://127.0.0.1:1", auth: "none" },
  }) as Resource;

async function open() {
  dir = mkdtempSync(join(tmpdir(), "kubeport-rt5-view-"));
  const b = openSqliteBackend({ path: join(dir, "registry.db"), pollMs: 10 });
  backend = b;
  const v = watchClusters(b, () => {});
  view = v;
  await v.ready;
  return { b, v };
}

/** Until the view has seen `marker` (written last): every earlier event has been delivered. */
async function caughtUp(b: Backend, v: ClusterView, marker: string) {
  await b.put(cluster(marker, "m"));
  expect(await waitFor(() => v.current()!.has(marker))).toBe(true);
}

test("our update's reply arriving after the watch delivered its echo and someone's delete: the view does not bring the cluster back", async () => {
  const { b, v } = await open();
  const first = await b.put(cluster("a", "first"));
  await caughtUp(b, v, "m1");
  // The leader updates a (compare-and-swap); an operator's `ctl rm a` lands right after it; the
  // watch delivers both before the update's reply is handled.
  const updated = await b.compareAndSwap({
    ...cluster("a", "ours"),
    metadata: { ...first.metadata, labels: { env: "ours" } },
  });
  expect(await b.delete("kube_cluster", "a")).toBe(true);
  await caughtUp(b, v, "m2");
  expect(v.current()!.has("a")).toBe(false);
  v.wrote("a", updated);
  // The registry has no `a`; a view that says it has one never recreates it (the poll reads the view).
  expect(await b.get("kube_cluster", "a")).toBeUndefined();
  expect(v.current()!.has("a")).toBe(false);
});

test("our create's reply arriving after the watch delivered its echo and someone's delete: the view does not keep it", async () => {
  const { b, v } = await open();
  const created = await b.create(cluster("n", "ours"));
  expect(await b.delete("kube_cluster", "n")).toBe(true);
  await caughtUp(b, v, "m");
  v.wrote("n", created);
  expect(v.current()!.has("n")).toBe(false);
});

test("control: our write's reply before its echo applies at once, and the echo changes nothing", async () => {
  const { b, v } = await open();
  const created = await b.create(cluster("n", "ours"));
  v.wrote("n", created);
  expect(v.current()!.get("n")!.metadata.labels!.env).toBe("ours");
  await caughtUp(b, v, "m");
  expect(v.current()!.get("n")!.metadata.revision).toBe(created.metadata.revision);
});
