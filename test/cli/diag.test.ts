// kubeport.diag_addr through `kubeport start` as a process: a discovery-only instance has /metrics,
// /healthz and /readyz there; a gateway's metrics are there too and no longer on its public port.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { type AwsSim, startAwsSim } from "../../src/sim/index.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { startWsUpstream, until, type WsUpstream } from "../helpers/ws-attack.ts";

const ROOT = resolve(import.meta.dir, "../..");
const logLines = (path: string) => {
  try {
    return readFileSync(path, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg: string; url?: string; level: number });
  } catch {
    return [];
  }
};

describe("discovery-only instance", () => {
  let sim: AwsSim;
  let dir: string;
  let proc: Subprocess | undefined;
  const log = () => join(dir, "kubeport.log");

  beforeAll(async () => {
    sim = await startAwsSim({ clusters: [{ name: "prod-a", region: "us-east-1", tags: { env: "prod" } }] });
    dir = mkdtempSync(join(tmpdir(), "kp-diag-"));
  });
  afterAll(async () => {
    proc?.kill("SIGKILL");
    await proc?.exited;
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (diagAddr: string, name: string) => {
    const cfg = join(dir, `${name}.yaml`);
    writeFileSync(
      cfg,
      `version: v1
kubeport:
  data_dir: ${join(dir, name)}
  diag_addr: ${diagAddr}
  log: { severity: INFO, format: json }
discovery_service:
  enabled: yes
  discovery_group: g1
  poll_interval: 1m
  aws: [{ types: [eks], regions: [us-east-1], tags: { env: prod } }]
`,
    );
    return Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), "start", "-c", cfg], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, AWS_EC2_METADATA_DISABLED: "true", ...sim.env },
      stdout: "ignore",
      stderr: Bun.file(log()),
    });
  };

  test("serves /healthz, /readyz and the discovery and process metrics on diag_addr", async () => {
    proc = start("127.0.0.1:0", "a");
    let url: string | undefined;
    expect(
      await until(() => {
        url = logLines(log()).find((l) => l.msg.startsWith("diagnostics listening"))?.url;
        return url !== undefined || proc!.exitCode !== null;
      }, 60_000),
    ).toBe(true);
    expect(url).toStartWith("http://127.0.0.1:");
    const health = await fetch(`${url}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
    expect(await until(async () => (await fetch(`${url}/readyz`)).status === 200, 60_000)).toBe(true);
    // The first poll has run: its metrics carry figures.
    let metrics = "";
    expect(
      await until(async () => {
        metrics = await (await fetch(`${url}/metrics`)).text();
        return /kubeport_discovery_\w+\{[^}]*\} [1-9]/.test(metrics);
      }, 60_000),
    ).toBe(true);
    expect(metrics).toContain("process_resident_memory_bytes");
    expect(metrics).not.toContain("kubeport_gateway_");
    expect((await fetch(`${url}/nope`)).status).toBe(404);

    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    // The listener goes with the process.
    expect(
      await fetch(`${url}/healthz`).then(
        () => "answered",
        () => "refused",
      ),
    ).toBe("refused");
  }, 120_000);

  test("a diag_addr in use is a start error naming the key", async () => {
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    try {
      const p = start(`127.0.0.1:${taken.port}`, "b");
      expect(await p.exited).toBe(1);
      expect(readFileSync(log(), "utf8")).toContain(
        `kubeport.diag_addr 127.0.0.1:${taken.port}: cannot listen`,
      );
    } finally {
      taken.stop(true);
    }
  }, 60_000);
});

describe("gateway instance", () => {
  let up: WsUpstream;
  let gw: GatewayProcess;
  let diag: string;
  beforeAll(async () => {
    up = await startWsUpstream();
    gw = await startGatewayProcess({ upstream: up, kubeportYaml: "  diag_addr: 127.0.0.1:0\n" });
    diag = gw.logs().find((l) => l.msg.startsWith("diagnostics listening"))!.url as string;
  }, 90_000);
  afterAll(async () => {
    await gw?.remove();
    await up?.close();
  });

  test("the public port answers /healthz and /readyz but not /metrics; diag_addr has the gateway's metrics", async () => {
    const pub = (path: string) => fetch(`${gw.url}${path}`, { tls: { ca: gw.caPem } } as RequestInit);
    expect((await pub("/healthz")).status).toBe(200);
    expect(await until(async () => (await pub("/readyz")).status === 200)).toBe(true);
    const m = await pub("/metrics");
    expect(m.status).toBe(404);
    expect(await m.text()).toContain("kubeport.diag_addr");

    // A refused token shows up in the diag metrics, by reason.
    const refused = await fetch(`${gw.url}/v1/clusters/up/api/v1/pods`, {
      headers: { authorization: "Bearer not-a-jwt" },
      tls: { ca: gw.caPem },
    } as RequestInit);
    expect(refused.status).toBe(401);
    const metrics = await (await fetch(`${diag}/metrics`)).text();
    expect(metrics).toContain('kubeport_gateway_auth_failures_total{reason="malformed"} 1');
    expect(metrics).toContain("kubeport_gateway_served_clusters 1");
    expect(metrics).toContain("kubeport_gateway_ws_buffered_bytes 0");
    expect((await fetch(`${diag}/readyz`)).status).toBe(200);
  }, 60_000);
});
