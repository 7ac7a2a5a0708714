// The regions a matcher covers: "*" expands to every region EKS runs in (a static list), and the
// hint for a region the account has not enabled.
import { listRefusedToken, listSucceeded } from "./eks-fetcher.ts";
import type { FetchResult } from "./types.ts";

/**
 * Commercial AWS regions where EKS is offered. Kept here (not imported from the simulator):
 * test/discovery/regions.test.ts checks it against the simulator's list.
 */
export const EKS_REGIONS: readonly string[] = [
  "af-south-1",
  "ap-east-1",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-south-1",
  "ap-south-2",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-southeast-3",
  "ap-southeast-4",
  "ap-southeast-5",
  "ap-southeast-7",
  "ca-central-1",
  "ca-west-1",
  "eu-central-1",
  "eu-central-2",
  "eu-north-1",
  "eu-south-1",
  "eu-south-2",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "il-central-1",
  "me-central-1",
  "me-south-1",
  "mx-central-1",
  "sa-east-1",
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
];

/** Expands a matcher's region list: any "*" means every EKS region; duplicates dropped, order kept. */
export function expandRegions(regions: readonly string[]): string[] {
  if (regions.includes("*")) return [...EKS_REGIONS];
  return [...new Set(regions)];
}

export const REGION_NOT_ENABLED_HINT =
  "region not enabled for this account? (opt-in region; remove it from regions or enable it)";

/**
 * Adds REGION_NOT_ENABLED_HINT to fetches refused with an invalid-token error when the same
 * credentials (`credsKeys[i]` for `results[i]`) listed clusters in another region this poll: the
 * credentials are good, so the region is most likely an opt-in one the account never enabled.
 * Only the message changes; the scope still counts as failed, so nothing in it is deleted.
 */
export function hintRegionsNotEnabled(
  results: readonly FetchResult[],
  credsKeys: readonly string[],
): FetchResult[] {
  const listedWith = new Set(credsKeys.filter((_, i) => listSucceeded(results[i]!)));
  return results.map((r, i) =>
    listRefusedToken(r.error) && listedWith.has(credsKeys[i] ?? "")
      ? { ...r, error: `${r.error}; ${REGION_NOT_ENABLED_HINT}` }
      : r,
  );
}
