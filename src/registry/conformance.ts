// The shared Backend conformance suite: every backend (SQLite, Redis standalone/Cluster/Sentinel) passes it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ErrorKind, isKind as isErrorKind } from "../lib/errors.ts";
import type { Backend, Kind, KubeCluster, Resource, WatchEvent, Watcher } from "./types.ts";

/** Opens another Backend instance on the same store each call (a second call = a second process's view). */
export type MakeBackend = () => Promise<Backend>;

export interface ConformanceOptions {
  /** Skip the cases that need expiry sweeps to reach watchers. */
  skipExpiryWatch?: boolean;
}

let seq = 0;
/** A name unique to this run, so cases never see each other's data. */
export const uniqueName = (base: string) => `${base}-${Date.now().toString(36)}-${(seq++).toString(36)}`;

/** A valid kube_cluster resource. */
export function kubeCluster(
  name: string,
  opts: { labels?: Record<string, string>; expires?: string; endpoint?: string } = {},
): KubeCluster {
  return {
    kind: "kube_cluster",
    version: "v1",
    metadata: {
      name,
      labels: opts.labels ?? { env: "test" },
      ...(opts.expires ? { expires: opts.expires } : {}),
    },
    spec: { endpoint: opts.endpoint ?? `https://${name}.example.com`, auth: "eks" },
  };
}

/** Resolves once `pred` is true, polling every 20 ms; rejects after `timeoutMs` naming `what`. */
export async function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** Records a watch's events for assertions. */
export function recordWatch(
  backend: Backend,
  kinds: readonly Kind[],
): { events: WatchEvent[]; watcher: Watcher; errors: unknown[] } {
  const events: WatchEvent[] = [];
  const errors: unknown[] = [];
  const watcher = backend.watch(
    { kinds },
    (e) => events.push(e),
    (err) => errors.push(err),
  );
  return { events, watcher, errors };
}

async function expectKind(p: Promise<unknown>, kind: ErrorKind, message?: RegExp): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  if (!isErrorKind(err, kind))
    throw new Error(`expected a ${kind} error, got ${err === undefined ? "success" : String(err)}`);
  if (message) expect(err.message).toMatch(message);
}

const putNamed = (events: WatchEvent[], name: string) =>
  events.some((e) => e.type === "put" && e.resource.metadata.name === name);
const deleteNamed = (events: WatchEvent[], name: string) =>
  events.some((e) => e.type === "delete" && e.name === name);
const inits = (events: WatchEvent[]) => events.filter((e) => e.type === "init").length;

/**
 * The corrupt-record contract, checked the same way on every backend: with "good" written through
 * `be` and, behind its back, "broken" (not JSON) and "invalid" (a bad spec.endpoint), list, get and
 * a watch's init see only "good", and `logLines` (be's log) warn about both. Closes its watch.
 */
export async function expectCorruptRecordsSkipped(
  be: Backend,
  logLines: string[],
  initMs: number,
): Promise<void> {
  expect((await be.list("kube_cluster")).map((r) => r.metadata.name)).toEqual(["good"]);
  expect(await be.get("kube_cluster", "broken")).toBeUndefined();
  const rec = recordWatch(be, ["kube_cluster"]);
  await waitFor(() => rec.events.length > 0, initMs, "init");
  const init = rec.events[0]!;
  expect(init.type === "init" && init.resources.map((r) => r.metadata.name)).toEqual(["good"]);
  expect(logLines.some((l) => l.includes("skipping corrupt registry record") && l.includes("broken"))).toBe(
    true,
  );
  expect(logLines.some((l) => l.includes("invalid") && l.includes("spec.endpoint"))).toBe(true);
  rec.watcher.close();
}

/** Registers the conformance cases for one backend under `describe(name)`. */
export function runBackendConformance(
  name: string,
  makeBackend: MakeBackend,
  options: ConformanceOptions = {},
): void {
  describe(`${name} backend conformance`, () => {
    let a: Backend;
    let b: Backend;
    const watchers: Watcher[] = [];
    beforeAll(async () => {
      a = await makeBackend();
      b = await makeBackend();
    });
    afterAll(async () => {
      for (const w of watchers) w.close();
      await a?.close();
      await b?.close();
    });

    test("put then get returns the stored resource with a revision; a missing one is undefined", async () => {
      const n = uniqueName("get");
      const stored = await a.put(kubeCluster(n, { labels: { team: "x" } }));
      expect(stored.metadata.revision).toBeString();
      const got = await a.get("kube_cluster", n);
      expect(got?.metadata.labels).toEqual({ team: "x" });
      expect(got?.metadata.revision).toBe(stored.metadata.revision!);
      expect((got as KubeCluster).spec.endpoint).toBe(`https://${n}.example.com`);
      expect(await a.get("kube_cluster", uniqueName("missing"))).toBeUndefined();
      expect(await a.get("role", n)).toBeUndefined();
    });

    test("list returns a kind's resources, and only those under a prefix when asked", async () => {
      const p = uniqueName("list");
      for (const s of ["a", "b", "c"]) await a.put(kubeCluster(`${p}-${s}`));
      await a.put(kubeCluster(`${p}x-other`));
      const under = await a.list("kube_cluster", { prefix: `${p}-` });
      expect(under.map((r) => r.metadata.name).sort()).toEqual([`${p}-a`, `${p}-b`, `${p}-c`]);
      const all = await a.list("kube_cluster");
      expect(all.filter((r) => r.metadata.name.startsWith(p)).length).toBe(4);
      expect((await a.list("role", { prefix: p })).length).toBe(0);
    });

    test("create refuses an existing resource with already_exists", async () => {
      const n = uniqueName("create");
      await a.create(kubeCluster(n));
      await expectKind(a.create(kubeCluster(n)), "already_exists");
      await expectKind(b.create(kubeCluster(n)), "already_exists");
    });

    test("compareAndSwap replaces on a matching revision and refuses a stale or missing one", async () => {
      const n = uniqueName("cas");
      const first = await a.put(kubeCluster(n, { labels: { v: "1" } }));
      const second = await a.compareAndSwap({
        ...kubeCluster(n, { labels: { v: "2" } }),
        metadata: { ...first.metadata, labels: { v: "2" } },
      });
      expect(second.metadata.labels).toEqual({ v: "2" });
      await expectKind(
        a.compareAndSwap({ ...kubeCluster(n), metadata: { ...first.metadata, labels: { v: "3" } } }),
        "compare_failed",
      );
      expect((await a.get("kube_cluster", n))?.metadata.labels).toEqual({ v: "2" });
      const missing = kubeCluster(uniqueName("cas-missing"));
      await expectKind(
        a.compareAndSwap({ ...missing, metadata: { ...missing.metadata, revision: "1" } }),
        "compare_failed",
      );
    });

    test("delete removes a resource and reports whether it existed", async () => {
      const n = uniqueName("del");
      await a.put(kubeCluster(n));
      expect(await a.delete("kube_cluster", n)).toBe(true);
      expect(await a.get("kube_cluster", n)).toBeUndefined();
      expect(await a.delete("kube_cluster", n)).toBe(false);
    });

    test("an expired resource is absent from get and list, and create may reuse its name", async () => {
      const n = uniqueName("exp");
      await a.put(kubeCluster(n, { expires: new Date(Date.now() + 400).toISOString() }));
      expect(await a.get("kube_cluster", n)).toBeDefined();
      await Bun.sleep(500);
      expect(await a.get("kube_cluster", n)).toBeUndefined();
      expect((await a.list("kube_cluster", { prefix: n })).length).toBe(0);
      await a.create(kubeCluster(n));
      expect(await a.get("kube_cluster", n)).toBeDefined();
    });

    test("revisions increase with every write, across instances", async () => {
      const n = uniqueName("rev");
      const revs: number[] = [];
      for (const be of [a, b, a, b]) revs.push(Number((await be.put(kubeCluster(n))).metadata.revision));
      for (let i = 1; i < revs.length; i++) expect(revs[i]!).toBeGreaterThan(revs[i - 1]!);
    });

    const invalid: [string, (r: KubeCluster) => unknown, RegExp][] = [
      ["an unknown kind", (r) => ({ ...r, kind: "widget" }), /kind/],
      ["a wrong version", (r) => ({ ...r, version: "v2" }), /version/],
      ["an empty name", (r) => ({ ...r, metadata: { name: "" } }), /metadata\.name/],
      ["a name with a slash", (r) => ({ ...r, metadata: { name: "a/b" } }), /metadata\.name/],
      ["a name too long", (r) => ({ ...r, metadata: { name: "a".repeat(254) } }), /metadata\.name.*253/],
      ["a non-string label", (r) => ({ ...r, metadata: { ...r.metadata, labels: { a: 1 } } }), /labels/],
      [
        "an http endpoint",
        (r) => ({ ...r, spec: { endpoint: "http://x.example.com" } }),
        /spec\.endpoint.*https/,
      ],
      ["no endpoint", (r) => ({ ...r, spec: {} }), /spec\.endpoint/],
      ["a bad expires time", (r) => ({ ...r, metadata: { ...r.metadata, expires: "soon" } }), /expires/],
    ];
    test.each(invalid)(
      "put rejects %s with bad_parameter naming the field",
      async (_what, mutate, message) => {
        const r = mutate(kubeCluster(uniqueName("bad"))) as Resource;
        await expectKind(a.put(r), "bad_parameter", message);
        await expectKind(a.create(r), "bad_parameter", message);
      },
    );

    test("a token with an unknown role and a role without allow are rejected", async () => {
      const token = {
        kind: "token",
        version: "v1",
        metadata: { name: "abcd1234" },
        spec: { roles: ["admin"], hash: "0".repeat(64) },
      };
      await expectKind(a.put(token as Resource), "bad_parameter", /spec\.roles/);
      await expectKind(
        a.put({ kind: "role", version: "v1", metadata: { name: uniqueName("r") }, spec: {} } as Resource),
        "bad_parameter",
        /spec\.allow/,
      );
      const ok = await a.put({
        ...token,
        spec: { roles: ["discovery", "kube"], hash: "0".repeat(64) },
      } as Resource);
      expect(ok.kind).toBe("token");
    });

    test("watch sends an init snapshot, then puts and deletes within a second", async () => {
      const before = uniqueName("w-before");
      await a.put(kubeCluster(before));
      const rec = recordWatch(a, ["kube_cluster"]);
      watchers.push(rec.watcher);
      await waitFor(() => inits(rec.events) > 0, 2000, "init");
      const init = rec.events[0]!;
      expect(init.type).toBe("init");
      if (init.type === "init") expect(init.resources.some((r) => r.metadata.name === before)).toBe(true);
      const n = uniqueName("w");
      const t0 = Date.now();
      await a.put(kubeCluster(n));
      await waitFor(() => putNamed(rec.events, n), 1000, "put event");
      await a.delete("kube_cluster", n);
      await waitFor(() => deleteNamed(rec.events, n), 1000, "delete event");
      expect(Date.now() - t0).toBeLessThan(2000);
      // Other kinds are not watched.
      await a.put({
        kind: "user",
        version: "v1",
        metadata: { name: uniqueName("u") },
        spec: { roles: [], created: new Date().toISOString() },
      });
      const sentinel = uniqueName("w-after");
      await a.put(kubeCluster(sentinel));
      await waitFor(() => putNamed(rec.events, sentinel), 1000, "put event");
      expect(rec.events.some((e) => e.type === "put" && e.resource.kind !== "kube_cluster")).toBe(false);
      expect(inits(rec.events)).toBe(1); // no spurious re-snapshot while the store is healthy
      rec.watcher.close();
    });

    test("a watcher on one instance sees writes made through another", async () => {
      const rec = recordWatch(b, ["kube_cluster", "role"]);
      watchers.push(rec.watcher);
      await waitFor(() => inits(rec.events) > 0, 2000, "init");
      const n = uniqueName("x");
      await a.put(kubeCluster(n));
      await a.put({
        kind: "role",
        version: "v1",
        metadata: { name: n },
        spec: { allow: { kubernetes_groups: ["g"] } },
      });
      await waitFor(
        () =>
          putNamed(rec.events, n) && rec.events.some((e) => e.type === "put" && e.resource.kind === "role"),
        1000,
        "puts from the other instance",
      );
      const put = rec.events.find((e) => e.type === "put" && e.resource.metadata.name === n);
      expect(put?.type === "put" && put.resource.metadata.revision).toBeString();
      await a.delete("role", n);
      await waitFor(() => deleteNamed(rec.events, n), 1000, "delete from the other instance");
      rec.watcher.close();
    });

    if (!options.skipExpiryWatch) {
      test("an expired resource is swept and watchers see it deleted", async () => {
        const rec = recordWatch(b, ["kube_cluster"]);
        watchers.push(rec.watcher);
        await waitFor(() => inits(rec.events) > 0, 2000, "init");
        const n = uniqueName("sweep");
        await a.put(kubeCluster(n, { expires: new Date(Date.now() + 200).toISOString() }));
        await waitFor(() => deleteNamed(rec.events, n), 3000, "delete of the expired resource");
        rec.watcher.close();
      });
    }

    test("a lock is exclusive until released or expired; renew keeps it", async () => {
      const lock = uniqueName("lock");
      const l1 = await a.acquireLock(lock, "one", 5000);
      expect(l1).toMatchObject({ lock, holder: "one" });
      expect(await b.acquireLock(lock, "two", 5000)).toBeUndefined();
      const renewed = await a.renewLock(l1!, 5000);
      expect(renewed?.token).toBe(l1!.token);
      expect(renewed!.deadline).toBeGreaterThanOrEqual(l1!.deadline);
      await a.releaseLock(renewed!);
      const l2 = await b.acquireLock(lock, "two", 300);
      expect(l2?.holder).toBe("two");
      expect(await a.renewLock(l1!, 5000)).toBeUndefined();
      await Bun.sleep(400);
      const l3 = await a.acquireLock(lock, "one", 5000);
      expect(l3?.holder).toBe("one");
      expect(await b.renewLock(l2!, 5000)).toBeUndefined();
      await a.releaseLock(l2!); // not ours: must not release l3
      expect(await b.acquireLock(lock, "two", 5000)).toBeUndefined();
      await a.releaseLock(l3!);
    });

    test("a holder that stepped down takes its own unexpired lock back at once (same session), with a new token", async () => {
      const lock = uniqueName("again");
      const first = await a.acquireLock(lock, "one", 5000, "session-1");
      expect(first).toMatchObject({ holder: "one", session: "session-1" });
      // "one" lost track of its lease (a renew failed during a failover) and asks again. Another
      // process with the same instance id (another session) does not take it.
      expect(await b.acquireLock(lock, "one", 5000)).toBeUndefined();
      expect(await b.acquireLock(lock, "one", 5000, "session-2")).toBeUndefined();
      const again = await b.acquireLock(lock, "one", 5000, "session-1");
      expect(again?.token).toBeGreaterThan(first!.token);
      expect(await a.renewLock(first!, 5000)).toBeUndefined();
      expect(await a.acquireLock(lock, "two", 5000)).toBeUndefined();
      // Releasing needs the holder and the session: another session's release leaves it.
      await a.releaseLock({ lock, holder: "one", session: "session-2" });
      expect(await a.acquireLock(lock, "two", 5000)).toBeUndefined();
      await b.releaseLock(again!);
      expect(await a.acquireLock(lock, "two", 5000)).toBeDefined();
    });

    test("the fencing token increases on every acquisition, across holders", async () => {
      const lock = uniqueName("tok");
      const tokens: number[] = [];
      for (const [be, holder] of [
        [a, "one"],
        [b, "two"],
        [a, "one"],
        [a, "three"],
      ] as const) {
        const lease = await be.acquireLock(lock, holder, 5000);
        expect(lease).toBeDefined();
        tokens.push(lease!.token);
        await be.releaseLock(lease!);
      }
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
    });

    test("a write fenced by an old lease is refused atomically once a newer one exists", async () => {
      const lock = uniqueName("fence");
      const n = uniqueName("fenced");
      const old = await a.acquireLock(lock, "old", 150);
      await a.put(kubeCluster(n, { labels: { by: "old" } }), { fence: old! });
      await Bun.sleep(250);
      const fresh = await b.acquireLock(lock, "new", 5000);
      expect(fresh!.token).toBeGreaterThan(old!.token);
      const stale = { fence: old! };
      const kinds: [string, () => Promise<unknown>][] = [
        ["put", () => a.put(kubeCluster(n, { labels: { by: "stale" } }), stale)],
        ["create", () => a.create(kubeCluster(uniqueName("fenced-new")), stale)],
        ["delete", () => a.delete("kube_cluster", n, stale)],
      ];
      for (const [, op] of kinds) await expectKind(op(), "fenced");
      expect((await a.get("kube_cluster", n))?.metadata.labels).toEqual({ by: "old" });
      await b.put(kubeCluster(n, { labels: { by: "new" } }), { fence: fresh! });
      expect((await a.get("kube_cluster", n))?.metadata.labels).toEqual({ by: "new" });
      await b.releaseLock(fresh!);
    });

    test("the fence compares token, holder and session: the current token under another holder or session is refused", async () => {
      const lock = uniqueName("fence-holder");
      const n = uniqueName("fenced");
      const lease = await a.acquireLock(lock, "one", 5000);
      // The same token number handed to another holder (a counter increment a failover lost).
      const impostors = [
        { ...lease!, holder: "two" },
        { ...lease!, session: "another-session" },
        { ...lease!, token: lease!.token - 1 },
        { ...lease!, lock: uniqueName("other-lock") },
      ];
      for (const fence of impostors)
        await expectKind(a.put(kubeCluster(n, { labels: { by: fence.holder } }), { fence }), "fenced");
      expect(await a.get("kube_cluster", n)).toBeUndefined();
      await a.put(kubeCluster(n, { labels: { by: "one" } }), { fence: lease! });
      expect((await b.get("kube_cluster", n))?.metadata.labels).toEqual({ by: "one" });
      await a.releaseLock(lease!);
      // A released lease fences nothing any more.
      await expectKind(a.delete("kube_cluster", n, { fence: lease! }), "fenced");
    });

    test("a write under a lease that lapsed is refused even when nobody took the lock, and it cannot be renewed", async () => {
      const lock = uniqueName("lapsed");
      const lease = await a.acquireLock(lock, "one", 150);
      await Bun.sleep(300);
      await expectKind(a.put(kubeCluster(uniqueName("lapsed")), { fence: lease! }), "fenced");
      expect(await a.renewLock(lease!, 5000)).toBeUndefined();
      // Its own session takes it back with a new token.
      const again = await a.acquireLock(lock, "one", 5000, lease!.session);
      expect(again!.token).toBeGreaterThan(lease!.token);
      await a.releaseLock(again!);
    });

    test("append and readStream return entries oldest first, after an id, with a limit", async () => {
      const stream = uniqueName("audit");
      for (let i = 0; i < 5; i++) await a.append(stream, { i, who: "alice" });
      const all = await b.readStream(stream);
      expect(all.map((e) => (e.entry as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
      const after = await a.readStream(stream, { after: all[1]!.id, limit: 2 });
      expect(after.map((e) => (e.entry as { i: number }).i)).toEqual([2, 3]);
      expect(await a.readStream(stream, { after: all[4]!.id })).toEqual([]);
      expect(await a.readStream(uniqueName("empty"))).toEqual([]);
    });

    test("appendMany appends a batch in order after earlier entries; an empty batch is a no-op", async () => {
      const stream = uniqueName("audit");
      await a.append(stream, { i: 0 });
      await a.appendMany(stream, []);
      await a.appendMany(
        stream,
        [1, 2, 3].map((i) => ({ i, who: "bob" })),
      );
      await b.append(stream, { i: 4 });
      const all = await b.readStream(stream);
      expect(all.map((e) => (e.entry as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
      expect(new Set(all.map((e) => e.id)).size).toBe(5);
      await expectKind(a.appendMany(stream, [{ i: 5 }, undefined]), "bad_parameter");
      expect((await a.readStream(stream)).length).toBe(5);
      // A batch bigger than any internal chunking keeps its order too.
      await a.appendMany(
        stream,
        Array.from({ length: 100 }, (_, k) => ({ i: 5 + k })),
      );
      const long = await b.readStream(stream, { after: all[4]!.id });
      expect(long.map((e) => (e.entry as { i: number }).i)).toEqual(
        Array.from({ length: 100 }, (_, k) => 5 + k),
      );
    });

    test("appendMany with encoded entries stores the JSON texts as given (read back as the values)", async () => {
      const stream = uniqueName("audit");
      const events = [1, 2].map((i) => ({ i, who: "carol", nested: { q: 'a"b' } }));
      await a.appendMany(
        stream,
        events.map((e) => JSON.stringify(e)),
        { encoded: true },
      );
      expect((await b.readStream(stream)).map((e) => e.entry)).toEqual(events);
    });

    test("over its cap a stream sheds the biggest owner's entries, oldest first; unowned and smaller owners' stay", async () => {
      const stream = uniqueName("audit");
      const retention = { maxAgeMs: 0, maxEntries: 100 };
      const others = Array.from({ length: 30 }, (_, i) => ({ who: "other", i }));
      await a.appendMany(stream, others, { retention });
      await a.appendMany(
        stream,
        Array.from({ length: 10 }, (_, i) => ({ who: "bob", i })),
        { owners: Array(10).fill("bob"), retention },
      );
      // The flood: 400 sheddable entries of one owner, in batches, with an unowned one in each batch.
      for (let k = 0; k < 8; k++) {
        const batch = [
          ...Array.from({ length: 50 }, (_, i) => ({ who: "mallory", i: k * 50 + i })),
          { who: "other", i: 30 + k },
        ];
        await b.appendMany(stream, batch, { owners: [...Array(50).fill("mallory"), undefined], retention });
      }
      const all: { who: string; i: number }[] = [];
      for (let after: string | undefined; ; ) {
        const page = await a.readStream(stream, { ...(after ? { after } : {}), limit: 1000 });
        if (page.length === 0) break;
        all.push(...page.map((e) => e.entry as { who: string; i: number }));
        after = page.at(-1)!.id;
      }
      expect(all.length).toBeLessThanOrEqual(100);
      expect(all.filter((e) => e.who === "other").map((e) => e.i)).toEqual(
        Array.from({ length: 38 }, (_, i) => i),
      );
      expect(all.filter((e) => e.who === "bob").length).toBe(10);
      const mallory = all.filter((e) => e.who === "mallory").map((e) => e.i);
      expect(mallory.length).toBeGreaterThan(0);
      // What is left of the flood is its newest part, in order.
      expect(mallory).toEqual(Array.from({ length: mallory.length }, (_, i) => 400 - mallory.length + i));
    });

    test("over its cap with nothing sheddable, a stream drops its oldest entries", async () => {
      const stream = uniqueName("audit");
      const retention = { maxAgeMs: 0, maxEntries: 50 };
      for (let k = 0; k < 4; k++)
        await a.appendMany(
          stream,
          Array.from({ length: 20 }, (_, i) => ({ i: k * 20 + i })),
          { retention },
        );
      const left = (await b.readStream(stream)).map((e) => (e.entry as { i: number }).i);
      expect(left.length).toBeLessThanOrEqual(50);
      expect(left).toEqual(Array.from({ length: left.length }, (_, i) => 80 - left.length + i));
    });

    test("entries older than the retention age are deleted at the next append", async () => {
      const stream = uniqueName("audit");
      await a.appendMany(stream, [{ i: 0 }, { i: 1 }], { owners: ["x", undefined] });
      // Only ever more true as time passes: the first two are at least 400 ms old after this.
      await Bun.sleep(400);
      await b.appendMany(stream, [{ i: 2 }], { retention: { maxAgeMs: 200, maxEntries: 1000 } });
      expect((await a.readStream(stream)).map((e) => (e.entry as { i: number }).i)).toEqual([2]);
    });

    test("ping answers while the store is up", async () => {
      await a.ping();
      await b.ping();
    });
  });
}
