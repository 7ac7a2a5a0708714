// Shapes passed between the fetcher, scopes, naming, the desired-state builder and the reconciler.

/** What discovery needs from one EKS DescribeCluster answer (decoupled from the SDK's types). */
export interface EksClusterInfo {
  name: string;
  arn: string;
  /** CREATING | ACTIVE | DELETING | FAILED | UPDATING | PENDING */
  status: string;
  endpoint?: string;
  /** Base64 PEM, as EKS returns it. */
  caData?: string;
  version?: string;
  /** RFC 3339; when EKS created the cluster. */
  createdAt?: string;
  tags: Record<string, string>;
  /** API | API_AND_CONFIG_MAP | CONFIG_MAP; undefined when the cluster has no access config. */
  authenticationMode?: string;
}

/** A cluster found in one account and region. */
export interface FoundCluster {
  account: string;
  region: string;
  info: EksClusterInfo;
}

/** The outcome of fetching one scope (credentials × region). */
export interface ScopeFetch {
  region: string;
  /** Undefined only when the account could not be learned at all. */
  account?: string;
  /** Every name ListClusters returned; undefined when the listing did not complete. */
  listed?: string[];
  /** The clusters described. */
  clusters: FoundCluster[];
  /** Listed clusters whose DescribeCluster failed: kept as registered, decided next time. */
  describeFailed: string[];
  /** The listing's error, or a summary of the DescribeCluster errors. */
  error?: string;
  /** GetCallerIdentity failed (the account came from the role or the clusters' ARNs). */
  identityError?: string;
}
