import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readCertificates, readKeyPair, readPrivateKey } from "./pem-files.ts";
import { createCa, issueServerCert, type KeyPairPem } from "./x509.ts";

const dir = mkdtempSync(join(tmpdir(), "kp-pem-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let a: KeyPairPem;
let b: KeyPairPem;
let ca: KeyPairPem;

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

beforeAll(async () => {
  ca = await createCa("test CA");
  a = await issueServerCert(ca, { commonName: "a" });
  b = await issueServerCert(ca, { commonName: "b" });
});

const CERT = "proxy_service.https_keypairs[0].cert_file";
const KEY = "proxy_service.https_keypairs[0].key_file";

describe("readCertificates", () => {
  test.each([
    ["garbage", "hello\n", 'is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line)'],
    ["empty", "", 'is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line; the file is empty)'],
    [
      "damaged",
      "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n",
      "is a damaged PEM certificate: its certificate does not parse as X.509",
    ],
  ])("%s → names the key, the file and the problem", (name, text, words) => {
    const path = file(`${name}.pem`, text);
    expect(() => readCertificates({ key: CERT, path })).toThrow(`${CERT}: ${path} ${words}`);
  });

  test("a key where the certificate belongs says the files look swapped", () => {
    const path = file("swapped.pem", a.keyPem);
    expect(() => readCertificates({ key: CERT, path })).toThrow(
      "it holds a private key: are the certificate and key files swapped?",
    );
  });

  test("a bundle names which certificate is damaged", () => {
    const path = file(
      "bundle.pem",
      `${ca.certPem}-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n`,
    );
    expect(() => readCertificates({ key: "kubeport.storage.tls.ca_file", path }, "CA bundle")).toThrow(
      `kubeport.storage.tls.ca_file: ${path} is a damaged PEM CA bundle: certificate 2 of 2 does not parse as X.509`,
    );
  });

  test.each([
    ["missing", () => join(dir, "nope.pem"), "cannot be read: no such file"],
    ["a directory", () => dir, "cannot be read: it is a directory, not a file"],
  ])("%s → cannot be read, in words", (_, path, words) => {
    expect(() => readCertificates({ key: CERT, path: path() })).toThrow(`${CERT}: ${path()} ${words}`);
  });

  test("a good chain is returned as written; a hint is appended to problems", () => {
    const path = file("chain.pem", a.certPem + ca.certPem);
    expect(readCertificates({ key: CERT, path })).toBe(a.certPem + ca.certPem);
    const bad = file("bad-hint.pem", "x");
    expect(() => readCertificates({ key: "kubeport.data_dir", path: bad, hint: "delete it" })).toThrow(
      /line\) \(delete it\)$/,
    );
  });
});

describe("readPrivateKey", () => {
  test("garbage, a certificate, an encrypted key and a damaged key each say so", () => {
    const garbage = file("k-garbage.pem", "nothing here");
    expect(() => readPrivateKey({ key: KEY, path: garbage })).toThrow(
      `${KEY}: ${garbage} is not a PEM private key (no "-----BEGIN … PRIVATE KEY-----" line)`,
    );
    const cert = file("k-cert.pem", a.certPem);
    expect(() => readPrivateKey({ key: KEY, path: cert })).toThrow(
      "it holds a certificate: are the certificate and key files swapped?",
    );
    const { privateKey } = generateKeyPairSync("ec", {
      namedCurve: "P-256",
      privateKeyEncoding: { type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "pw" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const enc = file("k-enc.pem", privateKey);
    expect(() => readPrivateKey({ key: KEY, path: enc })).toThrow(
      `${KEY}: ${enc} is an encrypted private key: kubeport needs it without a passphrase`,
    );
    const damaged = file("k-damaged.pem", "-----BEGIN PRIVATE KEY-----\nMA==\n-----END PRIVATE KEY-----\n");
    expect(() => readPrivateKey({ key: KEY, path: damaged })).toThrow(
      `${KEY}: ${damaged} is a damaged PEM private key: it does not parse`,
    );
  });
});

describe("readKeyPair", () => {
  test("a key from another pair: does not match the certificate, naming both files and keys", () => {
    const cert = file("pair-cert.pem", a.certPem);
    const key = file("pair-key.pem", b.keyPem);
    expect(() => readKeyPair({ key: CERT, path: cert }, { key: KEY, path: key })).toThrow(
      `${KEY}: ${key} does not match the certificate in ${cert} (${CERT}): they are not one key pair`,
    );
  });

  test("a matching pair (leaf first, chain after) is returned", () => {
    mkdirSync(join(dir, "ok"), { recursive: true });
    const cert = file("ok/cert.pem", a.certPem + ca.certPem);
    const key = file("ok/key.pem", a.keyPem);
    expect(readKeyPair({ key: CERT, path: cert }, { key: KEY, path: key })).toEqual({
      cert: a.certPem + ca.certPem,
      key: a.keyPem,
    });
  });
});
