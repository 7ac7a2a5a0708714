// `kubeport start` failing to bring the gateway up: the error names the config key to change (and the
// file, and what is wrong with it), not only Bun's or OpenSSL's message.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildServices } from "../../src/cli/services.ts";
import type { Config } from "../../src/config/index.ts";
import { describeError } from "../../src/lib/errors.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { createCa, issueServerCert, type KeyPairPem } from "../../src/lib/x509.ts";
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

describe("https_keypairs files are checked at start and named by key, file and problem", () => {
  const keypair = (cert: string, key: string, n: number) =>
    nodeConfig(
      { dataDir: `pair${n}`, hostname: "h" },
      "proxy_service:",
      "  enabled: yes",
      "  listen_addr: 127.0.0.1:0",
      `  https_keypairs: [{ cert_file: ${cert}, key_file: ${key} }]`,
    );
  let a: KeyPairPem;
  let b: KeyPairPem;
  beforeAll(async () => {
    const ca = await createCa("t");
    a = await issueServerCert(ca, { commonName: "a", ipAddresses: ["127.0.0.1"] });
    b = await issueServerCert(ca, { commonName: "b", ipAddresses: ["127.0.0.1"] });
  });
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const CERT = "proxy_service.https_keypairs[0].cert_file";
  const KEY = "proxy_service.https_keypairs[0].key_file";

  test("a missing file", async () => {
    const cert = join(dir, "missing.crt");
    expect(await gatewayStartError(keypair(cert, join(dir, "missing.key"), 1))).toBe(
      `${CERT}: ${cert} cannot be read: no such file`,
    );
  });

  test("garbage where the certificate belongs (was: error:0900006e:PEM routines…NO_START_LINE)", async () => {
    const cert = file("garbage.crt", "-- not a certificate --\n");
    const err = await gatewayStartError(keypair(cert, file("a.key", a.keyPem), 2));
    expect(err).toStartWith(`${CERT}: ${cert} is not a PEM certificate`);
    expect(err).not.toContain("error:");
  });

  test("a key that belongs to another certificate (was: KEY_VALUES_MISMATCH)", async () => {
    const cert = file("a.crt", a.certPem);
    const key = file("b.key", b.keyPem);
    const err = await gatewayStartError(keypair(cert, key, 3));
    expect(err).toBe(
      `${KEY}: ${key} does not match the certificate in ${cert} (${CERT}): they are not one key pair`,
    );
  });

  test("a good pair starts", async () => {
    expect(await gatewayStartError(keypair(file("a2.crt", a.certPem), file("a2.key", a.keyPem), 4))).toBe("");
  });
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
}, 60_000);
