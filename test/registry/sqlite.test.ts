// The SQLite backend: conformance on a temp file, plus gap handling and corrupt records.

import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import {
  expectCorruptRecordsSkipped,
  kubeCluster,
  recordWatch,
  runBackendConformance,
  uniqueName,
  waitFor,
} from "../../src/registry/conformance.ts";
import { openSqliteBackend } from "../../src/registry/index.ts";

const dir = mkdtempSync(join(tmpdir(), "kubeport-sqlite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shared = join(dir, "registry.db");
runBackendConformance("sqlite", async () => openSqliteBackend({ path: shared, sweepMs: 200 }));

describe("sqlite backend", () => {
  test("a watcher that fell behind the trimmed change log gets a fresh init", async () => {
    const path = join(dir, "gap.db");
    const writer = openSqliteBackend({ path, changesKeep: 3, sweepMs: 60_000 });
    const reader = openSqliteBackend({ path, pollMs: 400, sweepMs: 60_000 });
    const rec = recordWatch(reader, ["kube_cluster"]);
    await waitFor(() => rec.events.length === 1, 1000, "init");
    for (let i = 0; i < 10; i++) await writer.put(kubeCluster(`gap-${i}`));
    writer.sweep(); // trims the change log past the reader's cursor before its next poll
    await waitFor(() => rec.events.length >= 2, 2000, "second event");
    const second = rec.events[1]!;
    expect(second.type).toBe("init");
    expect(second.type === "init" && second.resources.map((r) => r.metadata.name).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `gap-${i}`).sort(),
    );
    await writer.put(kubeCluster("gap-after"));
    await waitFor(() => rec.events.length >= 3, 2000, "put after the gap");
    expect(rec.events[2]!.type).toBe("put");
    rec.watcher.close();
    await Promise.all([writer.close(), reader.close()]);
  });

  test("a corrupt stored record is skipped with a warning, never thrown out of get, list or watch", async () => {
    const path = join(dir, "corrupt.db");
    const lines: string[] = [];
    const log = pino({ level: "warn" }, { write: (s: string) => void lines.push(s) });
    const be = openSqliteBackend({ path, log, pollMs: 20 });
    await be.put(kubeCluster("good"));
    const raw = new Database(path);
    raw.run(
      "INSERT INTO resources (kind, name, rev, expires, json) VALUES ('kube_cluster', 'broken', 99, NULL, '{not json')",
    );
    raw.run(
      `INSERT INTO resources (kind, name, rev, expires, json) VALUES ('kube_cluster', 'invalid', 98, NULL, '{"kind":"kube_cluster","version":"v1","metadata":{"name":"invalid"},"spec":{"endpoint":"ftp://x"}}')`,
    );
    raw.close();
    await expectCorruptRecordsSkipped(be, lines, 1000);
    await be.close();
  });

  test("writes from many concurrent callers on two instances all land with distinct revisions", async () => {
    const path = join(dir, "concurrent.db");
    const [x, y] = [openSqliteBackend({ path }), openSqliteBackend({ path })];
    const names = Array.from({ length: 50 }, () => uniqueName("c"));
    const stored = await Promise.all(names.map((n, i) => (i % 2 ? x : y).put(kubeCluster(n))));
    expect(new Set(stored.map((r) => r.metadata.revision)).size).toBe(50);
    expect((await x.list("kube_cluster")).length).toBe(50);
    await Promise.all([x.close(), y.close()]);
  });
});

describe("a data_dir the registry cannot write", () => {
  test("the error names the file and says why (was: 'unable to open database file')", () => {
    const ro = join(dir, "read-only");
    mkdirSync(ro);
    // Root ignores file modes: a read-only tmpfs then; anyone else: a directory without write permission.
    const asRoot = process.getuid?.() === 0;
    const mounted =
      asRoot && Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro]).exitCode === 0;
    if (!mounted) chmodSync(ro, 0o500);
    try {
      const path = join(ro, "registry.db");
      let message = "";
      try {
        openSqliteBackend({ path });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toStartWith(`sqlite registry at ${path}: `);
      expect(message).toContain(
        mounted ? `${ro} is on a read-only file system` : `${ro} is not writable by this user`,
      );
    } finally {
      if (mounted) Bun.spawnSync(["umount", ro]);
      else chmodSync(ro, 0o700);
    }
  });
});
