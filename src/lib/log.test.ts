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

/** A child with a buffered JSON logger; `after` runs once it has logged `count` lines. */
function bufferedChild(count: number, after: string) {
  const script = `
    const { createLogger } = await import(${JSON.stringify(join(import.meta.dir, "log.ts"))});
    const log = createLogger({ format: "json", buffered: true });
    for (let i = 0; i < ${count}; i++) log.info({ i }, "line");
    ${after}
  `;
  return Bun.spawn([process.execPath, "-e", script], { stderr: "pipe", stdout: "ignore" });
}

const indexes = (text: string) =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => (JSON.parse(l) as { i: number }).i);

test("buffered json logs reach the destination within the flush period while the process runs", async () => {
  const p = bufferedChild(3, "setTimeout(() => {}, 5000);");
  const reader = p.stderr.getReader();
  let got = "";
  const t0 = performance.now();
  while (indexes(got).length < 3) {
    const { value, done } = await reader.read();
    if (done) break;
    got += new TextDecoder().decode(value);
  }
  const waited = performance.now() - t0;
  p.kill();
  expect(indexes(got)).toEqual([0, 1, 2]);
  // Far under the child's 5 s lifetime: the periodic flush wrote them, not the exit.
  expect(waited).toBeLessThan(2000);
});

test("buffered json logs lose no line at exit: normal end, process.exit and an uncaught error", async () => {
  for (const [after, code] of [
    ["", 0],
    ["process.exit(3);", 3],
    ["setTimeout(() => { throw new Error('boom'); }, 1);", 1],
  ] as const) {
    const p = bufferedChild(2000, after);
    const err = await new Response(p.stderr).text();
    expect(await p.exited).toBe(code);
    const lines = err.split("\n").filter((l) => l.startsWith("{"));
    expect(indexes(lines.join("\n"))).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  }
});

test("jsonLines writes what pino writes for the same event, and at exit nothing is lost", async () => {
  // A buffered JSON logger's child: one line through pino, the same through jsonLines (encoded once
  // by the caller), then a process.exit right away — the gathered line is flushed with the rest.
  const script = `
    const { createLogger, jsonLines } = await import(${JSON.stringify(join(import.meta.dir, "log.ts"))});
    const log = createLogger({ format: "json", buffered: true }).child({ component: "gateway" }).child({ component: "audit" });
    const ev = { event: "kube.request", time: "2026-12-03T10:00:00.000Z", user: "al\\"ice", n: [1, { a: null }] };
    const lines = jsonLines(log);
    if (!lines) throw new Error("no jsonLines for a buffered JSON logger");
    lines.add(lines.line(ev.time, "audit", JSON.stringify(ev), ev.event));
    log.info({ audit: ev }, ev.event);
    process.exit(0);
  `;
  const p = Bun.spawn([process.execPath, "-e", script], { stderr: "pipe", stdout: "ignore" });
  const err = await new Response(p.stderr).text();
  expect(await p.exited).toBe(0);
  const [ours, pinos, ...rest] = err.split("\n").filter((l) => l !== "");
  expect(rest).toEqual([]);
  // Identical but for the time pino stamps itself.
  const withoutTime = (l: string) => l.replace(/"time":"[^"]+"/, "");
  expect(withoutTime(ours!)).toBe(withoutTime(pinos!));
  expect(JSON.parse(ours!)).toMatchObject({
    component: "audit",
    audit: { user: 'al"ice' },
    msg: "kube.request",
  });
});

test("jsonLines is only for buffered JSON destinations (text and tests' streams log through pino)", async () => {
  const { createLogger, jsonLines, silentLogger } = await import("./log.ts");
  expect(jsonLines(silentLogger)).toBeUndefined();
  expect(jsonLines(createLogger({ format: "json", fd: 2 }))).toBeUndefined();
});
