import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, openSqliteBackend, type Resource } from "../registry/index.ts";
import { type ClusterView, watchClusters } from "./cluster-view.ts";

let backend: Backend | undefined;
let view: ClusterView | undefined;
let dir = "";
afterEach(async () => {
  view?.close();
  await backend?.close();
  rmSync(dir, { recursive: true, force: true });
});

const cluster = (name: string, env: string): Resource =>
  ({
    kind: "kube_cluster",
    version: "v1",
    metadata: { name, labels: { env } },
    spec: { endpoint: "https://127.0.0.1:1", auth: "none" },
  }) as Resource;

const waitFor = async (what: string, cond: () => boolean, ms = 20_000) => {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
};

/** A SQLite registry, a view of it, and a count of the view's change calls. */
async function open() {
  dir = mkdtempSync(join(tmpdir(), "kubeport-view-"));
  const b = openSqliteBackend({ path: join(dir, "registry.db"), pollMs: 20 });
  backend = b;
  await b.put(cluster("before", "prod"));
  let changes = 0;
  const v = watchClusters(b, () => changes++);
  view = v;
  await v.ready;
  const env = (name: string) => v.current()?.get(name)?.metadata.labels?.env;
  return { b, v, env, changes: () => changes };
}

test("starts from a snapshot, then follows others' writes and deletes", async () => {
  const { b, v, env, changes } = await open();
  expect([...v.current()!.keys()]).toEqual(["before"]);
  expect(changes()).toBe(1);
  await b.put(cluster("other", "dev"));
  await waitFor("the put", () => env("other") === "dev");
  await b.delete("kube_cluster", "before");
  await waitFor("the delete", () => !v.current()!.has("before"));
  expect(changes()).toBe(3);
});

test("our own writes apply at once; their echoes and the older events still queued never undo them", async () => {
  const { b, v, env, changes } = await open();
  const seen = changes();
  // Someone else writes x; before the watch delivers that, we replace it (as the writer does).
  await b.put(cluster("x", "theirs"));
  const ours = await b.put(cluster("x", "ours"));
  v.wrote("x", ours);
  // Someone else deletes y's first version; we recreate y before the watch delivers their delete.
  await b.put(cluster("y", "first"));
  await b.delete("kube_cluster", "y");
  const y = await b.put(cluster("y", "ours"));
  v.wrote("y", y);
  // We replace `before`, then delete it: the watch has delivered neither yet.
  v.wrote("before", await b.put(cluster("before", "ours")));
  expect(await b.delete("kube_cluster", "before")).toBe(true);
  v.deleted("before");
  const rev = Number(y.metadata.revision);
  // A later write by someone else, to know when the watch has delivered all of the above.
  await b.put(cluster("marker", "m"));
  await waitFor("the watch to catch up", () => v.current()!.has("marker"));
  expect(Number(v.current()!.get("y")!.metadata.revision)).toBe(rev);
  expect([env("x"), env("y"), env("before")]).toEqual(["ours", "ours", undefined]);
  // Only the marker was news: every other event was ours or older than ours.
  expect(changes() - seen).toBe(1);
  // Later writes by others apply again.
  await b.put(cluster("x", "theirs-later"));
  await b.put(cluster("before", "back"));
  await waitFor("later writes", () => env("x") === "theirs-later" && env("before") === "back");
});

test("a write's echo delivered before the write's reply (Redis) does not hide later changes by others", async () => {
  const { b, v, env, changes } = await open();
  const stored = await b.put(cluster("x", "ours"));
  await waitFor("the echo", () => env("x") === "ours");
  v.wrote("x", stored);
  expect(await b.delete("kube_cluster", "before")).toBe(true);
  await waitFor("the delete's echo", () => !v.current()!.has("before"));
  v.deleted("before");
  const seen = changes();
  await b.delete("kube_cluster", "x");
  await waitFor("someone else's delete", () => !v.current()!.has("x"));
  await b.put(cluster("before", "theirs"));
  await waitFor("someone else's create", () => env("before") === "theirs");
  expect(changes() - seen).toBe(2);
});
