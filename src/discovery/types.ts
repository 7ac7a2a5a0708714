// Shapes passed between the fetcher, matcher, naming, reconciler and writer.

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

/** A cluster found by one matcher in one account and region. */
export interface FoundCluster {
  matcher: number;
  account: string;
  region: string;
  info: EksClusterInfo;
}

/** The outcome of fetching one matcher × region. */
export interface FetchResult {
  matcher: number;
  region: string;
  /** Undefined only when even the account could not be learned. */
  account?: string;
  clusters: FoundCluster[];
  /** Set when the listing (or any DescribeCluster) failed: nothing in this scope may be deleted. */
  error?: string;
}
