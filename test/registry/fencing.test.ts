// Fencing across processes (a frozen holder's late write is refused) and leader hand-over, on SQLite and Redis.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/lib/log.ts";
import { kubeCluster, uniqueName, waitFor } from "../../src/registry/conformance.ts";
import { type Backend, createLeaderElector, type Lease } from "../../src/registry/index.ts";
import { type RedisStandalone, startRedisStandalone } from "../helpers/redis.ts";
import { openFromSpec } from "./fixtures/open-backend.ts";

const dir = mkdtempSync(join(tmpdir(), "kubeport-fence-"));
let redis: RedisStandalone;
beforeAll(async () => {
  redis = await startRedisStandalone();
});
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Reads one JSON line at a time from a child's stdout. */
function lineReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  let buf = "";
  return async (timeoutMs = 10_000): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs;
    while (!buf.includes("\n")) {
      if (Date.now() > deadline) throw new Error("child did not answer");
      const { value, done } = await reader.read();
      if (done) throw new Error(`child exited; output so far: ${buf}`);
      buf += new TextDecoder().decode(value);
    }
    const i = buf.indexOf("\n");
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    return JSON.parse(line);
  };
}

const specs: [string, () => string][] = [
  ["sqlite", () => `sqlite:${join(dir, "fence.db")}`],
  ["redis", () => `redis:${redis.url}:fence`],
];

describe.each(specs)("%s", (_name, spec) => {
  let b: Backend;
  beforeAll(() => {
    b = openFromSpec(spec());
  });
  afterAll(async () => {
    await b?.close();
  });

  test("a holder frozen past its TTL has its late fenced write refused after another takes the lock", async () => {
    const lock = uniqueName("lock");
    const name = uniqueName("fenced");
    const child = Bun.spawn(
      [process.execPath, join(import.meta.dir, "fixtures", "lock-holder.ts"), spec(), lock, "A", "600"],
      {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "inherit",
      },
    );
    try {
      const read = lineReader(child.stdout);
      const { lease: leaseA } = (await read()) as { lease: Lease };
      expect(leaseA.holder).toBe("A");
      child.stdin.write(`put ${name}\n`);
      child.stdin.flush();
      expect(await read()).toMatchObject({ ok: true });

      process.kill(child.pid, "SIGSTOP");
      expect(await b.acquireLock(lock, "B", 5000)).toBeUndefined(); // still A's
      await Bun.sleep(800); // past A's TTL while A cannot renew
      const leaseB = await b.acquireLock(lock, "B", 5000);
      expect(leaseB?.token).toBeGreaterThan(leaseA.token);
      await b.put(kubeCluster(name, { labels: { by: "B" } }), { fence: leaseB! });

      process.kill(child.pid, "SIGCONT");
      child.stdin.write(`put ${name}\n`);
      child.stdin.flush();
      expect(await read()).toMatchObject({ ok: false, kind: "fenced" });
      expect((await b.get("kube_cluster", name))?.metadata.labels).toEqual({ by: "B" });
      await b.releaseLock(leaseB!);
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
  }, 60_000);

  test("stop() releases the lock so a waiting elector takes over without waiting for the TTL", async () => {
    const lock = uniqueName("elect");
    const ttlMs = 6000;
    const elected: string[] = [];
    const make = (holder: string, be: Backend) =>
      createLeaderElector({
        backend: be,
        lock,
        holder,
        ttlMs,
        log: silentLogger,
        onElected: () => void elected.push(holder),
        onLost: () => void elected.push(`${holder} lost`),
      });
    const other = openFromSpec(spec());
    const one = make("one", b);
    const two = make("two", other);
    one.start();
    await waitFor(() => elected.includes("one"), 2000, "one elected");
    two.start();
    await Bun.sleep(300);
    expect(two.current()).toBeUndefined();
    const t0 = Date.now();
    await one.stop();
    await waitFor(() => elected.includes("two"), ttlMs, "two elected");
    expect(Date.now() - t0).toBeLessThan(ttlMs / 2);
    expect(two.current()!.token).toBeGreaterThan(0);
    expect(elected).toEqual(["one", "two"]);
    await two.stop();
    await other.close();
  }, 60_000);

  test("an elector whose renew is refused calls onLost at once", async () => {
    const lock = uniqueName("lost");
    let lost = 0;
    let lease: Lease | undefined;
    const el = createLeaderElector({
      backend: b,
      lock,
      holder: "one",
      ttlMs: 600,
      log: silentLogger,
      onElected: (l) => {
        lease = l;
      },
      onLost: () => {
        lost++;
      },
    });
    el.start();
    await waitFor(() => lease !== undefined, 2000, "elected");
    await b.releaseLock(lease!); // as if the lease lapsed and was taken
    const thief = await b.acquireLock(lock, "thief", 5000);
    expect(thief).toBeDefined();
    await waitFor(() => lost === 1, 1000, "onLost");
    expect(el.current()).toBeUndefined();
    await el.stop();
    await b.releaseLock(thief!);
  }, 60_000);

  test("an elector whose renew failed (store unreachable) takes its own lease back at once, with a new token", async () => {
    const lock = uniqueName("blip");
    let failRenew = false;
    const blippy: Backend = {
      ...b,
      renewLock: (lease, ttl) =>
        failRenew ? Promise.reject(new Error("connection lost")) : b.renewLock(lease, ttl),
    };
    const leases: Lease[] = [];
    let lost = 0;
    const el = createLeaderElector({
      backend: blippy,
      lock,
      holder: "one",
      ttlMs: 9000, // the lease would last until ~9 s; re-election must come long before
      log: silentLogger,
      onElected: (l) => void leases.push(l),
      onLost: () => void lost++,
    });
    el.start();
    await waitFor(() => leases.length === 1, 2000, "elected");
    failRenew = true;
    await waitFor(() => lost === 1, 5000, "stepped down after the failed renew");
    failRenew = false;
    await waitFor(() => leases.length === 2, 3000, "elected again without waiting for the TTL");
    expect(leases[1]!.token).toBeGreaterThan(leases[0]!.token);
    await el.stop();
  }, 60_000);
});
