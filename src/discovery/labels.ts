// Label keys discovery writes on kube_cluster resources, and the tag that overrides a name.

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

export const ORIGIN_CLOUD = "cloud";

/** The failure scope of a fetch: one AWS account in one region. "*" as account = any account. */
export const scopeKey = (account: string, region: string) => `${account}/${region}`;
