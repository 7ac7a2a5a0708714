// AWS credentials per matcher and per organization account: the SDK default chain, optionally
// through AssumeRole (+ external id), and who they are (GetCallerIdentity, re-read on rotation).
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import type { AwsCredentialIdentityProvider } from "@aws-sdk/types";
import {
  accountOfArn,
  assumeRoleCredentials,
  type CachedProvider,
  stsRegion,
} from "../lib/aws-credentials.ts";
import { awsChainInit } from "../lib/egress/index.ts";

export { accountOfArn, stsRegion };

export interface CallerIdentity {
  account: string;
  arn: string;
}

/** One set of credentials (default chain, or a role assumed through it) and who it is. */
export interface CredentialSet {
  /** "default" or "<role arn>|<external id>". */
  key: string;
  provider: CachedProvider;
  roleArn?: string;
  externalId?: string;
  /** The account these credentials act in when known without STS: the assumed role's. */
  roleAccount?: string;
  /**
   * GetCallerIdentity, cached for the access key the provider gives now: credentials that rotate
   * (a new key) are asked again, so a changed identity is noticed.
   */
  identity(signal?: AbortSignal): Promise<CallerIdentity>;
  /** The identity last learned, if any (no call). */
  knownIdentity(): CallerIdentity | undefined;
}

export interface Credentials {
  forMatcher(m: { assume_role_arn?: string; external_id?: string }): CredentialSet;
  forRole(roleArn: string, externalId?: string): CredentialSet;
}

export interface CredentialsOptions {
  onCall?: (action: string, outcome: string) => void;
  /** Base credentials; default the SDK's node chain (env, AWS_PROFILE files, IRSA, ECS, IMDS). */
  base?: AwsCredentialIdentityProvider;
  /** STS client settings (timeouts); region and endpoint come from the standard settings. */
  clientConfig?: Record<string, unknown>;
  sessionName?: string;
}

/**
 * Creates the credential sets. The base is `fromNodeProviderChain`; an assumed role wraps it in
 * `fromTemporaryCredentials`, cached until 5 minutes before expiry. Endpoints come from the
 * standard settings (AWS_ENDPOINT_URL_STS …).
 */
export function createCredentials({
  onCall,
  base = fromNodeProviderChain(awsChainInit()),
  clientConfig = {},
  sessionName = "kubeport-discovery",
}: CredentialsOptions = {}): Credentials {
  // The node chain caches (and refreshes) by itself; a base given by a test is asked every time.
  const plainBase: CachedProvider = Object.assign(() => base(), { invalidate() {} });
  const sets = new Map<string, CredentialSet>();
  const make = (
    key: string,
    provider: CachedProvider,
    roleArn?: string,
    externalId?: string,
  ): CredentialSet => {
    let known: { keyId: string; identity: Promise<CallerIdentity> } | undefined;
    let last: CallerIdentity | undefined;
    const ask = async (signal?: AbortSignal): Promise<CallerIdentity> => {
      const sts = new STSClient({
        region: stsRegion(),
        credentials: provider,
        maxAttempts: 3,
        ...clientConfig,
      });
      try {
        const out = await sts.send(new GetCallerIdentityCommand({}), { abortSignal: signal });
        onCall?.("sts:GetCallerIdentity", "ok");
        if (!out.Account || !out.Arn) throw new Error("GetCallerIdentity returned no account");
        last = { account: out.Account, arn: out.Arn };
        return last;
      } catch (err) {
        onCall?.("sts:GetCallerIdentity", (err as Error).name || "error");
        throw err;
      } finally {
        sts.destroy();
      }
    };
    return {
      key,
      provider,
      ...(roleArn ? { roleArn, roleAccount: accountOfArn(roleArn) } : {}),
      ...(externalId ? { externalId } : {}),
      async identity(signal) {
        const keyId = (await provider()).accessKeyId;
        if (known?.keyId !== keyId) {
          const identity = ask(signal);
          known = { keyId, identity };
          identity.catch(() => {
            if (known?.identity === identity) known = undefined;
          });
        }
        return known.identity;
      },
      knownIdentity: () => last,
    };
  };
  const forRole = (roleArn: string, externalId?: string): CredentialSet => {
    const key = `${roleArn}|${externalId ?? ""}`;
    let set = sets.get(key);
    if (!set) {
      const provider = assumeRoleCredentials({
        base,
        roleArn,
        ...(externalId ? { externalId } : {}),
        sessionName,
        clientConfig: { region: stsRegion(), ...clientConfig },
      });
      set = make(key, provider, roleArn, externalId);
      sets.set(key, set);
    }
    return set;
  };
  return {
    forMatcher({ assume_role_arn, external_id }) {
      if (assume_role_arn) return forRole(assume_role_arn, external_id);
      let set = sets.get("default");
      if (!set) {
        set = make("default", plainBase);
        sets.set("default", set);
      }
      return set;
    },
    forRole,
  };
}
