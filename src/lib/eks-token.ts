// EKS bearer tokens as aws-iam-authenticator makes them: `k8s-aws-v1.` + base64url of a presigned
// STS GetCallerIdentity URL whose signed headers include `x-k8s-aws-id: <cluster name>`. Used by the
// gateway (upstream requests) and by discovery (least-privilege access setup).
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";

// The signer's modules are loaded with the first token, not at start (~100 ms of a cold start,
// bench:gateway `cold`): a gateway signs its first EKS token when a cluster is first used.
let signing:
  | Promise<
      [
        typeof import("@smithy/hash-node"),
        typeof import("@smithy/protocol-http"),
        typeof import("@smithy/signature-v4"),
      ]
    >
  | undefined;
const signingModules = () => {
  signing ??= Promise.all([
    import("@smithy/hash-node"),
    import("@smithy/protocol-http"),
    import("@smithy/signature-v4"),
  ]);
  return signing;
};

export const EKS_TOKEN_PREFIX = "k8s-aws-v1.";
export interface EksTokenOptions {
  region: string;
  clusterName: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Overrides `https://sts.<region>.amazonaws.com/` (scheme, host, port and path kept). */
  stsEndpoint?: string;
  signingDate?: Date;
}

/** The STS URL a token is presigned for; AWS_ENDPOINT_URL_STS style overrides keep their path. */
export function stsUrl(region: string, endpoint?: string): URL {
  const url = new URL(endpoint ?? `https://sts.${region}.amazonaws.com/`);
  if (!url.pathname) url.pathname = "/";
  return url;
}

/** Makes one EKS token (presigned for 60 s like aws-iam-authenticator; servers honour 15 min). */
export async function makeEksToken({
  region,
  clusterName,
  credentials,
  stsEndpoint,
  signingDate,
}: EksTokenOptions): Promise<string> {
  const [{ Hash }, { HttpRequest }, { SignatureV4 }] = await signingModules();
  const url = stsUrl(region, stsEndpoint);
  const signer = new SignatureV4({ service: "sts", region, credentials, sha256: Hash.bind(null, "sha256") });
  const request = new HttpRequest({
    method: "GET",
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
    headers: { host: url.host, "x-k8s-aws-id": clusterName },
  });
  const signed = await signer.presign(request, { expiresIn: 60, signingDate });
  const query = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join("&");
  const presigned = `${url.protocol}//${url.host}${url.pathname}?${query}`;
  return EKS_TOKEN_PREFIX + Buffer.from(presigned).toString("base64url");
}
