// AWS Organizations: the accounts an `organization` matcher covers (organizations:ListAccounts,
// ACTIVE accounts, include/exclude applied), remembered across polls so a failed listing drops none.
import { ListAccountsCommand, OrganizationsClient } from "@aws-sdk/client-organizations";
import type { OrganizationConfig } from "../config/index.ts";
import type { CredentialSet } from "./credentials.ts";
import { awsErrorText, type CallCounter, type ClientSettings, sdkSettings } from "./eks-fetcher.ts";

/** The accounts of `org` to discover in: ACTIVE ones, only `include_accounts` when set, minus excluded. */
export function selectAccounts(active: readonly string[], org: OrganizationConfig): string[] {
  const include = new Set(org.include_accounts);
  const exclude = new Set(org.exclude_accounts);
  return [...new Set(active)].filter((a) => (include.size === 0 || include.has(a)) && !exclude.has(a)).sort();
}

/** What is known of one organization: its accounts from the last good listing, and the last error. */
export interface OrganizationState {
  /** Undefined until a listing succeeded: the matcher's scopes are then unknown (nothing is deleted). */
  accounts?: string[];
  error?: string;
  lastAttempt?: number;
  lastSuccess?: number;
}

/** Lists the ACTIVE accounts of the organization the credentials' account manages (all pages). */
export async function listActiveAccounts(
  creds: CredentialSet,
  { onCall, signal, ...settings }: { onCall?: CallCounter; signal?: AbortSignal } & ClientSettings,
): Promise<string[]> {
  // Organizations is a global service answered in us-east-1 (AWS_ENDPOINT_URL_ORGANIZATIONS overrides).
  const client = new OrganizationsClient({
    region: "us-east-1",
    credentials: creds.provider,
    ...sdkSettings(settings),
  });
  const out: string[] = [];
  try {
    let NextToken: string | undefined;
    do {
      const page = await client.send(new ListAccountsCommand({ ...(NextToken ? { NextToken } : {}) }), {
        abortSignal: signal,
      });
      onCall?.("organizations:ListAccounts", "ok");
      for (const a of page.Accounts ?? []) if (a.Id && (a.State ?? a.Status) === "ACTIVE") out.push(a.Id);
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  } catch (err) {
    onCall?.("organizations:ListAccounts", (err as Error)?.name || "error");
    throw new Error(`ListAccounts: ${awsErrorText(err)}`, { cause: err });
  } finally {
    client.destroy();
  }
}
