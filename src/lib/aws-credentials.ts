// AWS credentials shared by discovery and the gateway: a role assumed (with an external id) from base
// credentials, cached until shortly before it expires. SDK clients cache by themselves; a SigV4
// presigner (the gateway's EKS tokens) does not, hence this cache.
import type * as CredentialProviders from "@aws-sdk/credential-providers";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";

/** Refresh credentials this long before they expire (the SDK clients use 5 minutes too). */
export const REFRESH_BEFORE_MS = 5 * 60_000;

/** A provider that can also be told its credentials were refused (expired early, revoked). */
export interface CachedProvider extends AwsCredentialIdentityProvider {
  /** Drops the cached credentials: the next call fetches new ones. */
  invalidate(): void;
}

/**
 * Caches `provider`'s credentials: concurrent callers share one fetch; credentials with an
 * `expiration` are fetched again `refreshBeforeMs` before it; failures are not cached.
 */
export function cacheCredentials(
  provider: AwsCredentialIdentityProvider,
  {
    refreshBeforeMs = REFRESH_BEFORE_MS,
    now = Date.now,
  }: { refreshBeforeMs?: number; now?: () => number } = {},
): CachedProvider {
  let current: Promise<AwsCredentialIdentity> | undefined;
  let expiresAt = Number.POSITIVE_INFINITY;
  const get = (async () => {
    if (current && now() < expiresAt - refreshBeforeMs) return current;
    const p = provider();
    current = p;
    expiresAt = Number.POSITIVE_INFINITY;
    try {
      const c = await p;
      if (current === p) expiresAt = c.expiration ? c.expiration.getTime() : Number.POSITIVE_INFINITY;
      return c;
    } catch (err) {
      if (current === p) current = undefined;
      throw err;
    }
  }) as CachedProvider;
  get.invalidate = () => {
    current = undefined;
  };
  return get;
}

export interface AssumeRoleOptions {
  base: AwsCredentialIdentityProvider;
  roleArn: string;
  externalId?: string;
  /** RoleSessionName: shows in CloudTrail and in the assumed-role ARN. */
  sessionName: string;
  /** STS client settings (region, timeouts); the endpoint comes from AWS_ENDPOINT_URL_STS as usual. */
  clientConfig?: Record<string, unknown>;
}

/**
 * The SDK's credential providers, loaded when first asked for credentials: evaluating them (and the
 * STS, SSO and smithy modules they pull in) took ~60–190 ms of every `kubeport start` (bench:gateway
 * `cold`), and a token is signed only when a cluster is first used.
 */
let providers: Promise<typeof CredentialProviders> | undefined;
export const credentialProviders = (): Promise<typeof CredentialProviders> => {
  providers ??= import("@aws-sdk/credential-providers");
  return providers;
};

/** The SDK's default chain (fromNodeProviderChain with `init`), its module loaded on first use. */
export function defaultChain(
  init: Parameters<typeof CredentialProviders.fromNodeProviderChain>[0],
): AwsCredentialIdentityProvider {
  let chain: AwsCredentialIdentityProvider | undefined;
  return async (o) => {
    chain ??= (await credentialProviders()).fromNodeProviderChain(init);
    return chain(o);
  };
}

/** `roleArn` assumed from `base` (with `externalId` when given), cached until 5 minutes before expiry. */
export function assumeRoleCredentials({
  base,
  roleArn,
  externalId,
  sessionName,
  clientConfig,
}: AssumeRoleOptions): CachedProvider {
  let assumed: AwsCredentialIdentityProvider | undefined;
  return cacheCredentials(async (o) => {
    assumed ??= (await credentialProviders()).fromTemporaryCredentials({
      masterCredentials: base,
      params: {
        RoleArn: roleArn,
        RoleSessionName: sessionName,
        ...(externalId ? { ExternalId: externalId } : {}),
      },
      ...(clientConfig ? { clientConfig } : {}),
    });
    return assumed(o);
  });
}

/** Region for STS calls: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1 (STS's global endpoint region). */
export const stsRegion = () => process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || "us-east-1";

/** The account id in an ARN (`arn:aws:iam::123456789012:role/x` → "123456789012"). */
export const accountOfArn = (arn: string): string | undefined => arn.split(":")[4] || undefined;
