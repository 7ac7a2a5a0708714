import { expect, test } from "bun:test";
import { join } from "node:path";

/** Runs a child that logs one event with nested fields in the given format, returning its stderr lines. */
async function logOnce(format: "text" | "json"): Promise<string[]> {
  const script = `
    const { createLogger } = await import(${JSON.stringify(join(import.meta.dir, "log.ts"))});
    createLogger({ format: ${JSON.stringify(format)} }).info({ cluster: "prod", counts: { created: 2, deleted: 0 } }, "poll done");
  `;
  const p = Bun.spawn([process.execPath, "-e", script], { stderr: "pipe", stdout: "ignore" });
  const err = await new Response(p.stderr).text();
  expect(await p.exited).toBe(0);
  return err.split("\n").filter((l) => l !== "");
}

test("text logs put one event on one line, fields included", async () => {
  const lines = await logOnce("text");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain("poll done");
  expect(lines[0]).toContain('"cluster":"prod"');
  expect(lines[0]).toContain("created");
});

test("json logs are one JSON object per line with an ISO time", async () => {
  const [line, ...rest] = await logOnce("json");
  expect(rest).toEqual([]);
  const event = JSON.parse(line!) as { msg: string; cluster: string; time: string; level: number };
  expect(event).toMatchObject({ msg: "poll done", cluster: "prod", level: 30 });
  expect(Number.isNaN(Date.parse(event.time))).toBe(false);
});
