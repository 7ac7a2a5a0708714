// `kubeport start` failing to bring the gateway up: the error names the config key to change, not only Bun's message.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { buildServices } from "../../src/cli/services.ts";
import type { Config } from "../../src/config/index.ts";
import { describeError } from "../../src/lib/errors.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { tempRegistry } from "../helpers/cli.ts";

const { dir, backend, nodeConfig, close } = tempRegistry("kp-busy-");
let squatter: Bun.TCPSocketListener<undefined>;

beforeAll(() => {
  squatter = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
});
afterAll(async () => {
  squatter?.stop(true);
  await close();
});

/** Starts the gateway service `config` builds and returns why it failed to start ("" if it started). */
async function gatewayStartError(config: Config): Promise<string> {
  const [gateway] = buildServices({ config, backend, log: silentLogger, holder: "h" });
  try {
    await gateway!.start();
    return "";
  } catch (err) {
    return describeError(err);
  } finally {
    await gateway!.stop();
  }
}

test("a taken listen_addr is reported with the key and the address", async () => {
  const addr = `127.0.0.1:${squatter.port}`;
  const config = nodeConfig(
    { dataDir: "data", hostname: "h" },
    `proxy_service: { enabled: yes, listen_addr: "${addr}" }`,
  );
  expect(await gatewayStartError(config)).toStartWith(`proxy_service.listen_addr ${addr}: cannot listen: `);
});

test("a missing https_keypairs file is reported with its key", async () => {
  const config = nodeConfig(
    { dataDir: "data2", hostname: "h" },
    "proxy_service:",
    "  enabled: yes",
    "  listen_addr: 127.0.0.1:0",
    `  https_keypairs: [{ cert_file: ${join(dir, "missing.crt")}, key_file: ${join(dir, "missing.key")} }]`,
  );
  expect(await gatewayStartError(config)).toStartWith(
    `proxy_service.https_keypairs[0].cert_file ${join(dir, "missing.crt")}: cannot read: `,
  );
});

test("`kubeport start` prints the log lines that led up to a failure before the error itself", async () => {
  const cfg = join(dir, "busy.yaml");
  await Bun.write(
    cfg,
    [
      "version: v1",
      `kubeport: { data_dir: ${join(dir, "data3")}, log: { severity: INFO, format: json } }`,
      `proxy_service: { enabled: yes, listen_addr: "127.0.0.1:${squatter.port}" }`,
      "",
    ].join("\n"),
  );
  const p = Bun.spawn([process.execPath, join(import.meta.dir, "../../src/main.ts"), "start", "-c", cfg], {
    stdout: "ignore",
    stderr: "pipe",
  });
  const err = await new Response(p.stderr).text();
  expect(await p.exited).not.toBe(0);
  const lines = err.split("\n").filter((l) => l !== "");
  const errorAt = lines.findIndex((l) => l.includes("cannot listen"));
  const caAt = lines.findIndex((l) => l.includes('"msg":"created the gateway CA"'));
  expect(errorAt, err).toBeGreaterThan(-1);
  expect(caAt, err).toBeGreaterThan(-1);
  expect(caAt, err).toBeLessThan(errorAt);
}, 20_000);
