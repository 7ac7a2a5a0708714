import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { parseConfig } from "../config/index.ts";
import { silentLogger } from "../lib/log.ts";
import { hostOf, loadGatewayTls } from "./tls-files.ts";

const dir = mkdtempSync(join(tmpdir(), "kubeport-tls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = parseConfig(
  `version: v1\nkubeport:\n  data_dir: ${dir}\nproxy_service:\n  public_addr: kube.example.com:3080\n`,
  "t",
  { env: {} },
);

test("makes a CA and a server cert for localhost, loopback and the public host once, then reuses them", async () => {
  const first = await loadGatewayTls(config, silentLogger);
  expect(first.caPath).toBe(join(dir, "tls", "ca.pem"));
  expect(statSync(join(dir, "tls", "ca-key.pem")).mode & 0o077).toBe(0);
  expect(statSync(join(dir, "tls", "server-key.pem")).mode & 0o077).toBe(0);
  const cert = new x509.X509Certificate(first.cert);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension)!;
  const names = san.names.items.map((n) => n.value);
  expect(names).toEqual(expect.arrayContaining(["localhost", "kube.example.com", "127.0.0.1"]));
  expect(
    await cert.verify({ publicKey: new x509.X509Certificate(first.caPem!).publicKey, signatureOnly: true }),
  ).toBe(true);
  const again = await loadGatewayTls(config, silentLogger);
  expect([again.caPem, again.cert]).toEqual([first.caPem!, first.cert]);
});

test.each([
  ["kube.example.com:3080", "kube.example.com"],
  ["[::1]:3080", "::1"],
  ["10.0.0.1:443", "10.0.0.1"],
  ["host", "host"],
])("hostOf(%s)", (addr, host) => expect(hostOf(addr)).toBe(host));
