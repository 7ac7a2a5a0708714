// Which EKS clusters a matcher selects: Teleport tag semantics on tags plus cloud-derived labels.
import { type CompiledSelector, compileSelector, type LabelSelector, type Labels } from "../lib/labels.ts";
import { LABEL_ACCOUNT, LABEL_ARN, LABEL_CLOUD, LABEL_REGION } from "./labels.ts";
import type { EksClusterInfo } from "./types.ts";

/** Statuses that are enrolled. UPDATING is kept as registered (see reconcile.ts), not enrolled anew. */
export const ENROLLED_STATUS = "ACTIVE";
export const KEPT_STATUS = "UPDATING";

/** Labels derived from where a cluster lives; they win over tags with the same key. */
export function cloudLabels(account: string, region: string, arn: string): Labels {
  return { [LABEL_CLOUD]: "AWS", [LABEL_REGION]: region, [LABEL_ACCOUNT]: account, [LABEL_ARN]: arn };
}

/** The labels a matcher's `tags` selector is evaluated on: every tag, then the derived labels. */
export function matchLabels(info: EksClusterInfo, account: string, region: string): Labels {
  return { ...info.tags, ...cloudLabels(account, region, info.arn) };
}

export interface ClusterMatcher {
  /** True when the cluster's tags (plus region/account labels) satisfy the selector. */
  matches(info: EksClusterInfo, account: string, region: string): boolean;
  /** The first selector key that did not match, for debug logs. */
  mismatch(info: EksClusterInfo, account: string, region: string): string | undefined;
}

/**
 * Compiles a matcher's tag selector once (empty = everything). All keys must match; a key's
 * values are alternatives; "*" = present with any value; ^…$ = regex; else a glob on `*` only.
 */
export function createClusterMatcher(tags: LabelSelector | undefined): ClusterMatcher {
  const selector: CompiledSelector = compileSelector(tags);
  return {
    matches: (info, account, region) => selector.matches(matchLabels(info, account, region)),
    mismatch: (info, account, region) => selector.mismatch(matchLabels(info, account, region)),
  };
}
