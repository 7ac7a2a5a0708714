// Test helper: an EKS bearer token built the way `aws eks get-token` does (presigned STS GetCallerIdentity).
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";

export interface TokenCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** `k8s-aws-v1.` + base64url of a presigned GET on `stsUrl` with `x-k8s-aws-id: clusterName` signed. */
export async function eksToken(
  stsUrl: string,
  clusterName: string,
  creds: TokenCredentials,
  region = "us-east-1",
  expiresIn = 60,
): Promise<string> {
  const u = new URL(stsUrl);
  const signer = new SignatureV4({
    credentials: creds,
    region,
    service: "sts",
    sha256: Hash.bind(null, "sha256"),
  });
  const request = new HttpRequest({
    method: "GET",
    protocol: u.protocol,
    hostname: u.hostname,
    ...(u.port ? { port: Number(u.port) } : {}),
    path: "/",
    query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
    headers: { host: u.host, "x-k8s-aws-id": clusterName },
  });
  const signed = await signer.presign(request, { expiresIn });
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(signed.query ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) if (one !== null && one !== undefined) query.append(k, one);
  }
  const url = `${u.protocol}//${u.host}/?${query.toString()}`;
  return `k8s-aws-v1.${Buffer.from(url).toString("base64url")}`;
}
