// EKS cluster → kube_cluster resource: labels from tags and cloud facts, spec from DescribeCluster.

import { isValidLabelKey } from "../lib/labels.ts";
import type { KubeCluster } from "../registry/index.ts";
import { LABEL_EKS_NAME, LABEL_GROUP, LABEL_ORIGIN, LABEL_TYPE, ORIGIN_CLOUD } from "./labels.ts";
import { cloudLabels } from "./matcher.ts";
import type { FoundCluster } from "./types.ts";

/**
 * Builds the desired resource for a discovered cluster under `name` (see naming.ts).
 * Labels: every tag with a valid label key, then cloud/region/account-id/arn, origin=cloud,
 * discovery-group (omitted for the empty group), discovery-type=eks, and eks-name when renamed.
 */
export function toKubeCluster(
  c: FoundCluster,
  name: string,
  group: string,
  /** How discovery reached the cluster: the gateway signs its EKS token as the same role. */
  reach: { roleArn?: string; externalId?: string } = {},
): KubeCluster {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.info.tags)) if (isValidLabelKey(k) && k !== "*") labels[k] = v;
  Object.assign(labels, cloudLabels(c.account, c.region, c.info.arn));
  labels[LABEL_ORIGIN] = ORIGIN_CLOUD;
  if (group !== "") labels[LABEL_GROUP] = group;
  else delete labels[LABEL_GROUP];
  labels[LABEL_TYPE] = "eks";
  if (name !== c.info.name) labels[LABEL_EKS_NAME] = c.info.name;
  else delete labels[LABEL_EKS_NAME];
  const spec: KubeCluster["spec"] = {
    aws: {
      region: c.region,
      account_id: c.account,
      name: c.info.name,
      arn: c.info.arn,
      ...(reach.roleArn ? { assume_role_arn: reach.roleArn } : {}),
      ...(reach.roleArn && reach.externalId ? { external_id: reach.externalId } : {}),
    },
    endpoint: c.info.endpoint ?? "",
    auth: "eks",
  };
  if (c.info.caData !== undefined) spec.ca_data = c.info.caData;
  if (c.info.version !== undefined) spec.kubernetes_version = c.info.version;
  if (c.info.createdAt !== undefined && spec.aws) spec.aws.created_at = c.info.createdAt;
  return { kind: "kube_cluster", version: "v1", metadata: { name, labels }, spec };
}
