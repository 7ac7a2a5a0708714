// The SQLite audit stream stays capped whether entries come one by one or in batches.
import { expect, test } from "bun:test";
import { openSqliteBackend } from "./sqlite-backend.ts";

test("appendMany keeps the stream near its cap, dropping the oldest, and never loses the newest", async () => {
  const backend = openSqliteBackend({ path: ":memory:", streamCap: 500 });
  try {
    for (let k = 0; k < 40; k++)
      await backend.appendMany(
        "audit",
        Array.from({ length: 77 }, (_, j) => ({ n: k * 77 + j })),
      );
    const all: number[] = [];
    for (let after: string | undefined; ; ) {
      const page = await backend.readStream("audit", { ...(after ? { after } : {}), limit: 1000 });
      if (page.length === 0) break;
      all.push(...page.map((e) => (e.entry as { n: number }).n));
      after = page.at(-1)!.id;
    }
    // Over the cap, trimmed to 90% of it after the batch that crossed it.
    expect(all.length).toBeGreaterThanOrEqual(450);
    expect(all.length).toBeLessThanOrEqual(500);
    expect(all.at(-1)).toBe(40 * 77 - 1);
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => 40 * 77 - all.length + i));
  } finally {
    await backend.close();
  }
});

test("on a file registry, batches are written by the worker: visible to another connection, WAL kept short", async () => {
  const { mkdtempSync, rmSync, statSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "kubeport-stream-"));
  const path = join(dir, "registry.db");
  const writer = openSqliteBackend({ path, sweepMs: 60_000 });
  const reader = openSqliteBackend({ path, sweepMs: 60_000 });
  try {
    const row = { user: "alice", verb: "list", resource: "pods", pad: "x".repeat(300) };
    // ~12 MB of rows: without checkpoints the WAL would hold all of it.
    for (let k = 0; k < 500; k++)
      await writer.appendMany(
        "audit",
        Array.from({ length: 64 }, () => row),
      );
    const last = await reader.readStream("audit", { after: String(500 * 64 - 3) });
    expect(last.map((e) => e.id)).toEqual([String(500 * 64 - 2), String(500 * 64 - 1), String(500 * 64)]);
    expect(statSync(`${path}-wal`).size).toBeLessThan(8 * 1024 * 1024);
    // Closing waits for the worker; a closed registry refuses.
    await writer.close();
    await expect(writer.appendMany("audit", [row])).rejects.toThrow("closed");
  } finally {
    await writer.close();
    await reader.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the stream writer refuses appends once closed or once its worker is gone, never leaving them waiting", async () => {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { startStreamWriter } = await import("./stream-writer.ts");
  const dir = mkdtempSync(join(tmpdir(), "kubeport-writer-"));
  const path = join(dir, "registry.db");
  const db = openSqliteBackend({ path, sweepMs: 60_000 }); // makes the schema
  try {
    const w = await startStreamWriter({ path, busyTimeoutMs: 1000 });
    expect(w?.alive()).toBe(true);
    const policy = { cap: 1000, maxAgeMs: 0, now: Date.now() };
    await w!.appendMany("audit", ['{"n":1}'], undefined, policy);
    await w!.close();
    expect(w!.alive()).toBe(false);
    await expect(w!.appendMany("audit", ['{"n":2}'], undefined, policy)).rejects.toThrow("closed");
    // A file the worker cannot open: startStreamWriter gives up (the caller appends in-process).
    expect(
      await startStreamWriter({ path: join(dir, "missing", "x.db"), busyTimeoutMs: 100 }),
    ).toBeUndefined();
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a registry file made before stream retention gets its columns, and old entries keep the time they name", async () => {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { Database } = await import("bun:sqlite");
  const dir = mkdtempSync(join(tmpdir(), "kubeport-migrate-"));
  const path = join(dir, "registry.db");
  const old = new Database(path, { create: true });
  old.run(
    "CREATE TABLE stream_entries (id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, entry TEXT NOT NULL)",
  );
  const recent = new Date(Date.now() - 60_000).toISOString();
  old
    .query("INSERT INTO stream_entries (stream, entry) VALUES (?, ?)")
    .run("audit", JSON.stringify({ time: "2020-01-01T00:00:00Z" }));
  old
    .query("INSERT INTO stream_entries (stream, entry) VALUES (?, ?)")
    .run("audit", JSON.stringify({ time: recent }));
  old.close();
  const backend = openSqliteBackend({ path, sweepMs: 60_000 });
  try {
    // A day's retention: the 2020 entry goes, the minute-old one stays.
    await backend.appendMany("audit", [{ time: new Date().toISOString() }], {
      retention: { maxAgeMs: 86_400_000, maxEntries: 1000 },
    });
    expect((await backend.readStream("audit")).map((e) => (e.entry as { time: string }).time)).toEqual([
      recent,
      expect.any(String),
    ]);
  } finally {
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
