// The gateway's own TLS: configured keypairs, or a kubeport CA + server cert kept in <data_dir>/tls/.
import { existsSync } from "node:fs";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Config } from "../config/index.ts";
import { writeFileAtomic } from "../lib/atomic-file.ts";
import type { Logger } from "../lib/log.ts";
import { readCertificates, readKeyPair } from "../lib/pem-files.ts";
import { ensurePrivateDir, ensurePrivateFile } from "../lib/private-files.ts";
import { createCa, issueServerCert } from "../lib/x509.ts";

export interface GatewayTls {
  cert: string;
  key: string;
  /** The CA kubeport made (absent when certificates come from config). */
  caPem?: string;
  caPath?: string;
}

/** Host part of "host:port" / "[v6]:port". */
export function hostOf(addr: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(addr);
  if (m) return m[1]!;
  const i = addr.lastIndexOf(":");
  return i > 0 && addr.indexOf(":") === i ? addr.slice(0, i) : addr;
}

/** Names the generated server certificate covers. */
export function serverNames(publicAddr: string): { dnsNames: string[]; ipAddresses: string[] } {
  const names = new Set(["localhost", hostname(), "127.0.0.1", "::1"]);
  const pub = hostOf(publicAddr);
  if (pub && pub !== "0.0.0.0") names.add(pub);
  const all = [...names].filter(Boolean);
  return { dnsNames: all.filter((n) => !isIP(n)), ipAddresses: all.filter((n) => isIP(n)) };
}

/** Loads the configured keypair, or creates/reuses kubeport's own CA and server cert. */
export async function loadGatewayTls(config: Config, log: Logger): Promise<GatewayTls> {
  const pair = config.proxy_service.https_keypairs[0];
  if (pair) {
    const at = "proxy_service.https_keypairs[0]";
    return readKeyPair(
      { key: `${at}.cert_file`, path: pair.cert_file },
      { key: `${at}.key_file`, path: pair.key_file },
    );
  }

  const dir = join(config.kubeport.data_dir, "tls");
  const p = (f: string) => join(dir, f);
  // Private keys: the directory 0700 and the keys 0600, fixed (or refused) when found open.
  ensurePrivateDir(dir, "kubeport.data_dir", log);
  for (const key of ["ca-key.pem", "server-key.pem"]) ensurePrivateFile(p(key), "kubeport.data_dir", log);
  // Each file is written whole (temp + rename): a crash never leaves half a key. A new CA always
  // gets a new server certificate, so the two never come from different runs.
  let newCa = false;
  if (!existsSync(p("ca.pem")) || !existsSync(p("ca-key.pem"))) {
    const ca = await createCa("kubeport gateway CA");
    writeFileAtomic(p("ca-key.pem"), ca.keyPem, 0o600);
    writeFileAtomic(p("ca.pem"), ca.certPem);
    newCa = true;
    log.info({ ca: p("ca.pem") }, "created the gateway CA");
  }
  // Files kubeport wrote itself can still be damaged (a disk, a hand edit): say which, and how to renew.
  const generated = (f: string) => ({
    key: "kubeport.data_dir",
    path: p(f),
    hint: "kubeport generated it: delete the tls directory's files to have new ones made",
  });
  const ca = {
    certPem: readCertificates(generated("ca.pem")),
    keyPem: readKeyPair(generated("ca.pem"), generated("ca-key.pem")).key,
  };
  if (newCa || !existsSync(p("server.pem")) || !existsSync(p("server-key.pem"))) {
    const names = serverNames(config.proxy_service.public_addr);
    const server = await issueServerCert(ca, { commonName: "kubeport", ...names });
    writeFileAtomic(p("server-key.pem"), server.keyPem, 0o600);
    writeFileAtomic(p("server.pem"), server.certPem);
    log.info({ cert: p("server.pem"), ...names }, "issued the gateway server certificate");
  }
  log.info({ ca: p("ca.pem") }, "gateway CA (put it in kubeconfigs as certificate-authority-data)");
  return {
    ...readKeyPair(generated("server.pem"), generated("server-key.pem")),
    caPem: ca.certPem,
    caPath: p("ca.pem"),
  };
}
