// The regions a matcher covers: "*" expands to every region EKS runs in (a static list), and the
// hint for a region the account has not enabled.
import type { ScopeFetch } from "./types.ts";

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

/** True when ListClusters was refused with the invalid-token codes AWS answers in a region the account has not enabled. */
const listRefusedToken = (f: ScopeFetch | undefined) =>
  f?.listed === undefined &&
  /ListClusters: (UnrecognizedClientException|InvalidClientTokenId)\b/.test(f?.error ?? "");

/**
 * The scope's error, with REGION_NOT_ENABLED_HINT when ListClusters was refused with an
 * invalid-token error while the same credentials (`credsKey`) listed clusters in another region
 * (`listedWith`): the credentials are good, so the region is most likely an opt-in one the account
 * never enabled. Only the message changes; the scope still counts as failed.
 */
export function scopeError(
  f: ScopeFetch | undefined,
  credsKey: string,
  listedWith: ReadonlySet<string>,
): string | undefined {
  if (!f?.error) return undefined;
  return listRefusedToken(f) && listedWith.has(credsKey) ? `${f.error}; ${REGION_NOT_ENABLED_HINT}` : f.error;
}
