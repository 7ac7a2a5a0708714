// PEM files named in config or flags (TLS certificates, private keys, CA bundles), read and checked
// before use, so a bad one is reported with its config key, its path and what is wrong in plain
// words — not as an OpenSSL code (NO_START_LINE, KEY_VALUES_MISMATCH) out of a TLS handshake.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { badParameter } from "./errors.ts";

/** A file and the setting that named it ("proxy_service.https_keypairs[0].cert_file", "--ca-file"). */
export interface PemSource {
  key: string;
  path: string;
  /** Appended to every problem with this file (e.g. how to have a generated file made again). */
  hint?: string;
}

const ERRNO_WORDS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "it is a directory, not a file",
  ENOTDIR: "a part of the path is not a directory",
};

const BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;
const KEY_LABEL = /PRIVATE KEY$/;

/** No `cause` attached: the words say what is wrong, and the CLI would append OpenSSL's code to them. */
function problem(src: PemSource, what: string): Error {
  return badParameter(`${src.key}: ${src.path} ${what}${src.hint ? ` (${src.hint})` : ""}`);
}

function readText(src: PemSource): string {
  try {
    return readFileSync(src.path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    throw problem(src, `cannot be read: ${ERRNO_WORDS[code] ?? (err as Error).message}`);
  }
}

/** The PEM block labels in `text`, in order ("CERTIFICATE", "PRIVATE KEY", …). */
const labelsOf = (text: string) => [...text.matchAll(BEGIN)].map((m) => m[1]!);

/** Every CERTIFICATE block of `text`, whole. */
const certificateBlocks = (text: string) =>
  text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];

/**
 * Reads a file of one or more PEM certificates (a certificate with its chain, or a CA bundle) and
 * parses each; returns the file's text. `what` names it in messages ("certificate", "CA bundle").
 */
export function readCertificates(src: PemSource, what = "certificate"): string {
  const text = readText(src);
  const blocks = certificateBlocks(text);
  if (blocks.length === 0) {
    const labels = labelsOf(text);
    const found = labels.some((l) => KEY_LABEL.test(l))
      ? "; it holds a private key: are the certificate and key files swapped?"
      : labels.length
        ? `; it holds ${labels.map((l) => `"${l}"`).join(", ")} blocks`
        : text.trim()
          ? ""
          : "; the file is empty";
    throw problem(src, `is not a PEM ${what} (no "-----BEGIN CERTIFICATE-----" line${found})`);
  }
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch {
      const which = blocks.length > 1 ? `certificate ${i + 1} of ${blocks.length}` : "its certificate";
      throw problem(src, `is a damaged PEM ${what}: ${which} does not parse as X.509`);
    }
  });
  return text;
}

/** Reads a PEM private key (PKCS#8, RSA or EC); refuses encrypted keys and certificates. */
export function readPrivateKey(src: PemSource): string {
  const text = readText(src);
  const labels = labelsOf(text);
  if (labels.includes("ENCRYPTED PRIVATE KEY") || /Proc-Type:\s*4,ENCRYPTED/.test(text))
    throw problem(src, "is an encrypted private key: kubeport needs it without a passphrase");
  if (!labels.some((l) => KEY_LABEL.test(l))) {
    const found = labels.includes("CERTIFICATE")
      ? "; it holds a certificate: are the certificate and key files swapped?"
      : text.trim()
        ? ""
        : "; the file is empty";
    throw problem(src, `is not a PEM private key (no "-----BEGIN … PRIVATE KEY-----" line${found})`);
  }
  try {
    createPrivateKey(text);
  } catch {
    throw problem(src, "is a damaged PEM private key: it does not parse");
  }
  return text;
}

/** Reads a certificate (with its chain) and its key, and checks the key is the certificate's. */
export function readKeyPair(cert: PemSource, key: PemSource): { cert: string; key: string } {
  const certPem = readCertificates(cert);
  const keyPem = readPrivateKey(key);
  const leaf = new X509Certificate(certificateBlocks(certPem)[0]!);
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem)))
    throw problem(
      key,
      `does not match the certificate in ${cert.path} (${cert.key}): they are not one key pair`,
    );
  return { cert: certPem, key: keyPem };
}
