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
    // Trimmed on every 1000th id: at most cap + one batch past the last trim remain.
    expect(all.length).toBeGreaterThanOrEqual(500);
    expect(all.length).toBeLessThanOrEqual(500 + 1000 + 77);
    expect(all.at(-1)).toBe(40 * 77 - 1);
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => 40 * 77 - all.length + i));
  } finally {
    await backend.close();
  }
});
