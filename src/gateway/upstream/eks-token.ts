// EKS bearer tokens as aws-iam-authenticator makes them: `k8s-aws-v1.` + base64url of a presigned
// STS GetCallerIdentity URL whose signed headers include `x-k8s-aws-id: <cluster name>`, signed as
// the role discovery reached the cluster through (spec.aws.assume_role_arn + external_id), if any.
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { assumeRoleCredentials, defaultChain, stsRegion } from "../../lib/aws-credentials.ts";
import { type Clock, systemClock } from "../../lib/clock.ts";
import { awsChainInit, awsRequestHandler } from "../../lib/egress/index.ts";
import { makeEksToken } from "../../lib/eks-token.ts";
import { badParameter } from "../../lib/errors.ts";
import type { KubeCluster } from "../../registry/index.ts";
import { UpstreamError } from "../status.ts";
import type { UpstreamCredentials } from "./credentials.ts";

export { EKS_TOKEN_PREFIX, type EksTokenOptions, makeEksToken, stsUrl } from "../../lib/eks-token.ts";
/** Servers accept a token for 15 min after X-Amz-Date; renew before 14, as clients do. */
export const DEFAULT_TOKEN_LIFE_MS = 14 * 60_000;

export interface EksCredentialsOptions {
  /** Default: the SDK default chain (env, profile, web identity, IMDS …). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Default: AWS_ENDPOINT_URL_STS when set. */
  stsEndpoint?: string;
  /** How long a token is reused. Default 14 min. */
  tokenLifeMs?: number;
  clock?: Clock;
}

/**
 * UpstreamCredentials that presign EKS tokens, cached per (role, cluster, region) and renewed early.
 * A cluster discovery reached through AssumeRole is signed as that role (assumed from the base
 * credentials with the recorded external id, cached per role until 5 minutes before it expires),
 * so its API server sees the identity its access entry was made for.
 */
export function eksCredentials({
  credentials = defaultChain(awsChainInit()),
  stsEndpoint = process.env.AWS_ENDPOINT_URL_STS || undefined,
  tokenLifeMs = DEFAULT_TOKEN_LIFE_MS,
  clock = systemClock,
}: EksCredentialsOptions = {}): UpstreamCredentials {
  const cache = new Map<string, Promise<{ token: string; renewAt: number }>>();
  const base: AwsCredentialIdentityProvider =
    typeof credentials === "function" ? credentials : async () => credentials;
  const roles = new Map<string, AwsCredentialIdentityProvider>();
  const signAs = (roleArn: string | undefined, externalId: string | undefined) => {
    if (!roleArn) return credentials;
    const key = `${roleArn}\u0000${externalId ?? ""}`;
    let p = roles.get(key);
    if (!p) {
      p = assumeRoleCredentials({
        base,
        roleArn,
        ...(externalId ? { externalId } : {}),
        sessionName: "kubeport-gateway",
        clientConfig: {
          region: stsRegion(),
          maxAttempts: 3,
          requestHandler: awsRequestHandler({
            requestTimeout: 10_000,
            connectionTimeout: 3_000,
            throwOnRequestTimeout: true,
          }),
        },
      });
      roles.set(key, p);
    }
    return p;
  };
  // The settled header per cluster object (the cluster cache replaces the object when it changes).
  const settled = new WeakMap<KubeCluster, { header: string; renewAt: number }>();
  return {
    current(cluster: KubeCluster) {
      if (cluster.spec.auth === "none") return null;
      const hit = settled.get(cluster);
      return hit && hit.renewAt > clock.now() ? hit.header : undefined;
    },
    async authorization(cluster: KubeCluster) {
      if (cluster.spec.auth === "none") return undefined;
      const aws = cluster.spec.aws;
      if (!aws)
        throw badParameter(`kube_cluster "${cluster.metadata.name}" has no spec.aws for an EKS token`);
      const key = `${aws.assume_role_arn ?? ""}\u0000${aws.external_id ?? ""}\u0000${aws.name}\u0000${aws.region}`;
      const now = clock.now();
      let entry = cache.get(key);
      const current = entry && (await entry.catch(() => undefined));
      if (!current || current.renewAt <= now) {
        entry = makeEksToken({
          region: aws.region,
          clusterName: aws.name,
          credentials: signAs(aws.assume_role_arn, aws.external_id),
          stsEndpoint,
          signingDate: new Date(now),
        })
          .then((token) => ({ token, renewAt: now + tokenLifeMs }))
          .catch((err) => {
            cache.delete(key);
            throw new UpstreamError(
              `cannot sign an EKS token for ${aws.name}: ${(err as Error).message}`,
              err,
            );
          });
        cache.set(key, entry);
      }
      const { token, renewAt } = await entry!;
      const header = `Bearer ${token}`;
      settled.set(cluster, { header, renewAt });
      return header;
    },
  };
}
