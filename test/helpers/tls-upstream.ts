// A TLS stand-in for an API server (or any HTTPS/WSS peer a test needs): a CA of its own and a
// certificate for 127.0.0.1 and localhost, the server on loopback and port 0. Tests hand `caPem`
// to what connects (a cluster record, fetch's `tls.ca`, connectWs's `ca`).
import { createCa, issueServerCert, type KeyPairPem } from "../../src/lib/x509.ts";

export interface TlsCert {
  /** The CA that signed the certificate (its key too, for a test that issues more). */
  ca: KeyPairPem;
  caPem: string;
  /** For Bun.serve / Bun.listen `tls`. */
  tls: { cert: string; key: string };
}

/** A new CA and a server certificate for 127.0.0.1, localhost and `dnsNames`. */
export async function tlsCert(name = "upstream", dnsNames: string[] = []): Promise<TlsCert> {
  const ca = await createCa(`${name} test CA`);
  const kp = await issueServerCert(ca, {
    commonName: name,
    ipAddresses: ["127.0.0.1"],
    dnsNames: [...dnsNames, "localhost"],
  });
  return { ca, caPem: ca.certPem, tls: { cert: kp.certPem, key: kp.keyPem } };
}

export interface TlsUpstream<T> extends TlsCert {
  server: Bun.Server<T>;
  /** `https://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Stops the server, closing its connections. */
  stop(): Promise<void>;
}

/** What the server does: Bun.serve's options less where it listens and its certificate. */
export type UpstreamHandlers<T> = Omit<Bun.Serve.Options<T>, "hostname" | "port" | "unix" | "tls">;

/** Bun.serve with TLS on 127.0.0.1, port 0 (`dnsNames`: more names on the certificate). */
export async function startTlsUpstream<T = undefined>(
  handlers: UpstreamHandlers<T>,
  { name = "upstream", dnsNames = [] }: { name?: string; dnsNames?: string[] } = {},
): Promise<TlsUpstream<T>> {
  const cert = await tlsCert(name, dnsNames);
  const server = Bun.serve<T>({
    ...handlers,
    hostname: "127.0.0.1",
    port: 0,
    tls: cert.tls,
  } as Bun.Serve.Options<T>);
  const port = server.port!;
  return { ...cert, server, url: `https://127.0.0.1:${port}`, port, stop: () => server.stop(true) };
}
