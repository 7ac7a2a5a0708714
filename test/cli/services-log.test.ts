// What `kubeport start` logs when the gateway comes up: one "gateway listening" line, with its CA.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import pino from "pino";
import { buildServices } from "../../src/cli/services.ts";
import { tempRegistry } from "../helpers/cli.ts";

const { dir, backend, nodeConfig, close } = tempRegistry("kp-svclog-");
afterAll(close);

test("the gateway's start is logged once, naming its URL and CA", async () => {
  const lines: { msg: string; url?: string; ca?: string }[] = [];
  const log = pino(
    { level: "info" },
    {
      write: (s: string) => {
        lines.push(JSON.parse(s));
      },
    },
  );
  const config = nodeConfig(
    { dataDir: "data", hostname: "host-1" },
    "proxy_service: { enabled: yes, listen_addr: '127.0.0.1:0' }",
    "kubernetes_service: { enabled: yes, resources: [{ labels: { '*': '*' } }] }",
  );
  const services = buildServices({ config, backend, log, holder: "h" });
  try {
    for (const s of services) await s.start();
  } finally {
    for (const s of services.reverse()) await s.stop();
  }
  const listening = lines.filter((l) => l.msg === "gateway listening");
  expect(listening).toHaveLength(1);
  expect(listening[0]!.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  expect(listening[0]!.ca).toBe(join(dir, "data", "tls", "ca.pem"));
});
