// runServer on a real SQLite registry: join checks, heartbeat, service order, cleanup on failure.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { mintToken } from "../../src/cli/join.ts";
import { runServer } from "../../src/cli/runtime.ts";
import { buildServices, type Service } from "../../src/cli/services.ts";
import { silentLogger } from "../../src/lib/log.ts";
import type { Instance } from "../../src/registry/index.ts";
import { tempRegistry } from "../helpers/cli.ts";

const { dir, backend, nodeConfig, close } = tempRegistry("kp-rt-");
let n = 0;

afterAll(close);

function config(extra: string, token?: string) {
  const join_ = token === undefined ? "" : `  join_params: { method: token, token_name: "${token}" }\n`;
  return nodeConfig({ dataDir: `d${n++}`, hostname: "host-1" }, `${join_}${extra}`);
}
const DISCOVERY = "discovery_service: { enabled: yes, discovery_group: g1, aws: [{ types: [eks] }] }\n";
const KUBE = "kubernetes_service: { enabled: yes }\n";
const PROXY = "proxy_service: { enabled: yes, listen_addr: '127.0.0.1:0' }\n";

function recorder(names: string[], failOn?: string) {
  const events: string[] = [];
  const make = (): Service[] =>
    names.map((name) => ({
      name,
      start: async () => {
        if (name === failOn) throw new Error(`${name} could not start`);
        events.push(`start ${name}`);
      },
      stop: async () => void events.push(`stop ${name}`),
    }));
  return { events, make };
}

async function addToken(roles: ("discovery" | "kube" | "proxy")[], ttlMs = 60_000) {
  const { secret, token } = mintToken(roles, ttlMs);
  await backend.create(token);
  return secret;
}

describe("runServer", () => {
  test("starts services in order, heartbeats, stops them in reverse and removes the instance", async () => {
    const stop = new AbortController();
    const rec = recorder(["a", "b", "c"]);
    let id = "";
    const done = runServer({
      config: config(DISCOVERY + KUBE),
      log: silentLogger,
      signal: stop.signal,
      version: "9.9.9",
      heartbeatMs: 50,
      services: rec.make,
      onReady: (info) => {
        id = info.id;
      },
    });
    while (!id) await Bun.sleep(10);
    const first = (await backend.get("instance", id)) as Instance;
    expect(first.spec).toMatchObject({
      hostname: "host-1",
      version: "9.9.9",
      services: ["discovery", "kube"],
      discovery_group: "g1",
    });
    expect(Date.parse(first.metadata.expires!) - Date.parse(first.spec.last_seen)).toBe(150);
    await Bun.sleep(120);
    const later = (await backend.get("instance", id)) as Instance;
    expect(Date.parse(later.spec.last_seen)).toBeGreaterThan(Date.parse(first.spec.last_seen));
    stop.abort();
    await done;
    expect(rec.events).toEqual(["start a", "start b", "start c", "stop c", "stop b", "stop a"]);
    expect(await backend.get("instance", id)).toBeUndefined();
  });

  test("a service that fails to start stops the ones already started and leaves no instance", async () => {
    const rec = recorder(["a", "b", "c"], "b");
    await expect(
      runServer({
        config: config(""),
        log: silentLogger,
        signal: new AbortController().signal,
        version: "1",
        services: rec.make,
      }),
    ).rejects.toThrow("b could not start");
    expect(rec.events).toEqual(["start a", "stop a"]);
    expect(await backend.list("instance")).toEqual([]);
  });

  test.each<[string, () => Promise<string>, string, string | undefined]>([
    [
      "a literal token with the roles",
      () => addToken(["discovery", "kube"]),
      DISCOVERY + KUBE + PROXY,
      undefined,
    ],
    [
      "a token file",
      async () => {
        const file = join(dir, `token-${n}`);
        writeFileSync(file, `${await addToken(["discovery"])}\n`);
        return file;
      },
      DISCOVERY,
      undefined,
    ],
    ["proxy with a proxy-only token", () => addToken(["proxy"]), PROXY, undefined],
    ["an unknown token", async () => "f".repeat(64), DISCOVERY, "join token is unknown or has expired"],
    [
      "an expired token",
      async () => {
        const s = await addToken(["discovery"], 1);
        await Bun.sleep(5);
        return s;
      },
      DISCOVERY,
      "join token is unknown or has expired",
    ],
    [
      "a kube token for discovery",
      () => addToken(["kube"]),
      DISCOVERY + KUBE,
      'lacks role "discovery" needed by discovery_service',
    ],
    [
      "a discovery token for kube",
      () => addToken(["discovery"]),
      KUBE,
      'lacks role "kube" needed by kubernetes_service',
    ],
    [
      "a proxy token for discovery, kube and proxy (every missing role in one message)",
      () => addToken(["proxy"]),
      DISCOVERY + KUBE + PROXY,
      'lacks role "discovery" needed by discovery_service; role "kube" needed by kubernetes_service (it has: proxy)',
    ],
    ["a missing token file", async () => join(dir, "no-such-token"), DISCOVERY, "cannot read token file"],
  ])("join with %s", async (_, makeToken, sections, error) => {
    const stop = new AbortController();
    const run = runServer({
      config: config(sections, await makeToken()),
      log: silentLogger,
      signal: stop.signal,
      version: "1",
      services: () => [],
      onReady: () => stop.abort(),
    });
    if (error) await expect(run).rejects.toThrow(error);
    else await run;
    expect(await backend.list("instance")).toEqual([]);
  });
});

describe("buildServices", () => {
  /** A pino logger whose lines land in `lines`, so warnings can be asserted. */
  function capture() {
    const lines: { level: number; msg: string }[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    return { lines, log };
  }
  const warnings = (lines: { level: number; msg: string }[]) =>
    lines.filter((l) => l.level === 40).map((l) => l.msg);

  test.each([
    ["no resources", KUBE, 1],
    [
      "resources that select everything",
      "kubernetes_service: { enabled: yes, resources: [{ labels: { '*': '*' } }] }\n",
      0,
    ],
  ])("a gateway with %s warns only when it would serve nothing", async (_name, kube, expected) => {
    const { lines, log } = capture();
    const services = buildServices({ config: config(kube + PROXY), backend, log, holder: "h" });
    for (const s of services) await s.start();
    for (const s of services.reverse()) await s.stop();
    expect(warnings(lines).filter((m) => m.includes("kubernetes_service.resources is empty"))).toHaveLength(
      expected,
    );
  });
});
