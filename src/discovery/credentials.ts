// AWS credentials per matcher: the SDK default chain, optionally through AssumeRole, and the account id.
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromNodeProviderChain, fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import type { AwsCredentialIdentityProvider } from "@aws-sdk/types";
import type { AwsMatcherConfig } from "../config/index.ts";

/** One set of credentials (default chain, or a role assumed through it) and who it is. */
export interface CredentialSet {
  /** "default" or "<role arn>|<external id>". */
  key: string;
  provider: AwsCredentialIdentityProvider;
  roleArn?: string;
  /** GetCallerIdentity, cached once it succeeded. */
  identity(): Promise<{ account: string; arn: string }>;
}

export interface Credentials {
  forMatcher(m: Pick<AwsMatcherConfig, "assume_role_arn" | "external_id">): CredentialSet;
}

/** Region for STS calls: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1 (STS's global endpoint region). */
export const stsRegion = () => process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || "us-east-1";

/** The account id in an ARN (`arn:aws:iam::123456789012:role/x` → "123456789012"). */
export const accountOfArn = (arn: string): string | undefined => arn.split(":")[4] || undefined;

/**
 * Creates the credential sets. The base is `fromNodeProviderChain` (env, shared files with
 * AWS_PROFILE, web identity/IRSA, ECS, EC2 IMDS); `assume_role_arn` (+ `external_id`) wraps it in
 * `fromTemporaryCredentials`. Endpoints come from the standard settings (AWS_ENDPOINT_URL_STS …).
 */
export function createCredentials({
  onCall,
}: {
  onCall?: (action: string, outcome: string) => void;
} = {}): Credentials {
  const base = fromNodeProviderChain();
  const sets = new Map<string, CredentialSet>();
  const make = (key: string, provider: AwsCredentialIdentityProvider, roleArn?: string): CredentialSet => {
    let cached: Promise<{ account: string; arn: string }> | undefined;
    return {
      key,
      provider,
      ...(roleArn ? { roleArn } : {}),
      identity() {
        cached ??= (async () => {
          const sts = new STSClient({ region: stsRegion(), credentials: provider, maxAttempts: 3 });
          try {
            const out = await sts.send(new GetCallerIdentityCommand({}));
            onCall?.("sts:GetCallerIdentity", "ok");
            if (!out.Account || !out.Arn) throw new Error("GetCallerIdentity returned no account");
            return { account: out.Account, arn: out.Arn };
          } catch (err) {
            onCall?.("sts:GetCallerIdentity", (err as Error).name || "error");
            throw err;
          } finally {
            sts.destroy();
          }
        })();
        cached.catch(() => (cached = undefined));
        return cached;
      },
    };
  };
  return {
    forMatcher({ assume_role_arn, external_id }) {
      const key = assume_role_arn ? `${assume_role_arn}|${external_id ?? ""}` : "default";
      let set = sets.get(key);
      if (!set) {
        const provider = assume_role_arn
          ? fromTemporaryCredentials({
              masterCredentials: base,
              params: {
                RoleArn: assume_role_arn,
                RoleSessionName: "kubeport-discovery",
                ...(external_id ? { ExternalId: external_id } : {}),
              },
              clientConfig: { region: stsRegion() },
            })
          : base;
        set = make(key, provider, assume_role_arn);
        sets.set(key, set);
      }
      return set;
    },
  };
}
