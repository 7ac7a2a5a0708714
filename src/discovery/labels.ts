// Label keys discovery writes on kube_cluster resources, and the tags that override a name.

export const LABEL_CLOUD = "kubeport.dev/cloud";
export const LABEL_REGION = "kubeport.dev/region";
export const LABEL_ACCOUNT = "kubeport.dev/account-id";
export const LABEL_ARN = "kubeport.dev/arn";
export const LABEL_ORIGIN = "kubeport.dev/origin";
export const LABEL_GROUP = "kubeport.dev/discovery-group";
export const LABEL_TYPE = "kubeport.dev/discovery-type";
/** The EKS name, recorded when the resource's name differs from it. */
export const LABEL_EKS_NAME = "kubeport.dev/eks-name";
/** A tag that sets the resource name as is (when it is a valid resource name). */
export const TAG_NAME_OVERRIDE = "kubeport.dev/kubernetes-name";
/**
 * Tags that set the resource name, in order of precedence: kubeport's, then Teleport's two
 * (TeleportKubernetesName, then teleport.dev/kubernetes-name, as Teleport reads them).
 */
export const NAME_OVERRIDE_TAGS: readonly string[] = [
  TAG_NAME_OVERRIDE,
  "TeleportKubernetesName",
  "teleport.dev/kubernetes-name",
];
/** The tag kubeport puts on the EKS access entries it creates (or adopts): they are its to change. */
export const TAG_MANAGED = "kubeport.dev/managed";
/**
 * The tag naming the discovery group whose entry it is (empty for the empty group): a leader that
 * did not create an entry (after a restart, or another process) still finds its group's entries.
 */
export const TAG_GROUP = "kubeport.dev/discovery-group";

export const ORIGIN_CLOUD = "cloud";

/** The failure scope of a fetch: one AWS account in one region. "*" as account = any account. */
export const scopeKey = (account: string, region: string) => `${account}/${region}`;
