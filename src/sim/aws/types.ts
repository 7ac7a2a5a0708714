// Public shapes of the AWS simulator: options, seeds, the simulated cluster and the control API.

export type ClusterStatus = "CREATING" | "ACTIVE" | "UPDATING" | "DELETING" | "FAILED" | "PENDING";
export type AuthenticationMode = "API" | "API_AND_CONFIG_MAP" | "CONFIG_MAP";

export interface SimPrincipalSeed {
  /** `arn:aws:iam::ACCOUNT:user/NAME` or `arn:aws:iam::ACCOUNT:role/NAME`. */
  arn: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** IAM actions refused (`eks:CreateAccessEntry`, `eks:*`, `*`). Deny wins over allow. */
  deny?: string[];
  /** When set, only these actions are allowed. */
  allow?: string[];
}

export interface SimRoleSeed {
  arn: string;
  /** When set, AssumeRole must pass this ExternalId. */
  externalId?: string;
  deny?: string[];
  allow?: string[];
  /** Principal ARNs (or `arn:aws:iam::ACCOUNT:root`) allowed to assume it; default: everyone in the sim. */
  trusted?: string[];
}

export interface SimAccessEntrySeed {
  principalArn: string;
  kubernetesGroups?: string[];
  username?: string;
  /** Access policy ARNs associated at cluster scope. */
  policies?: string[];
}

export interface SimClusterSeed {
  name: string;
  region: string;
  /** Default: the first account. */
  account?: string;
  status?: ClusterStatus;
  tags?: Record<string, string>;
  version?: string;
  authenticationMode?: AuthenticationMode;
  /** Access entries to create with the cluster (not validated like CreateAccessEntry, so `system:` groups are allowed). */
  accessEntries?: SimAccessEntrySeed[];
  /**
   * As EKS's bootstrapClusterCreatorAdminPermissions (default true): the account's first principal
   * gets an access entry with AmazonEKSClusterAdminPolicy, unless the mode is CONFIG_MAP.
   */
  creatorAdmin?: boolean;
}

export interface SimAccountSeed {
  id: string;
  /** The account's name in the organization (ListAccounts); default "account-<id>". */
  name?: string;
  /** ACTIVE (default) or SUSPENDED, as organizations:ListAccounts reports it. */
  status?: "ACTIVE" | "SUSPENDED";
  principals?: SimPrincipalSeed[];
  roles?: SimRoleSeed[];
}

export interface AwsSimOptions {
  /** Default: one account "111111111111" with one admin user (see DEFAULT_PRINCIPAL). */
  accounts?: SimAccountSeed[];
  clusters?: SimClusterSeed[];
  /** Added to every AWS call (not to /_sim/ control calls). */
  latencyMs?: number;
  /** Per account+region token bucket; exceeding it answers ThrottlingException. */
  rateLimit?: { rps: number; burst: number } | false;
  /** Called once per cluster when it is created; gives the cluster its API endpoint and CA. */
  kubeApi?: (c: SimCluster) => Promise<{ endpoint: string; caData: string }>;
  /** Port to listen on (default 0 = any free port); host is always 127.0.0.1. */
  port?: number;
  /** Region put in `env.AWS_REGION`; default us-east-1. */
  defaultRegion?: string;
  /**
   * The AWS Organization every simulated account belongs to; its management account (default: the
   * first account) may call organizations:ListAccounts. `false`: no organization
   * (AWSOrganizationsNotInUseException).
   */
  organization?: { managementAccount?: string } | false;
}

export interface SimAccessEntry {
  clusterName: string;
  principalArn: string;
  kubernetesGroups: string[];
  accessEntryArn: string;
  createdAt: Date;
  modifiedAt: Date;
  tags: Record<string, string>;
  username: string;
  type: string;
  /** policyArn → association. */
  policies: Map<
    string,
    {
      policyArn: string;
      accessScope: { type: string; namespaces: string[] };
      associatedAt: Date;
      modifiedAt: Date;
    }
  >;
}

export interface SimCluster {
  name: string;
  arn: string;
  account: string;
  region: string;
  status: ClusterStatus;
  version: string;
  platformVersion: string;
  endpoint: string;
  caData: string;
  createdAt: Date;
  tags: Record<string, string>;
  authenticationMode: AuthenticationMode;
  accessEntries: Map<string, SimAccessEntry>;
}

/**
 * "region_disabled": how AWS answers in an opt-in region the account has not enabled (an invalid-token
 * error). "hang": the call is never answered (until the fault is removed or the caller gives up).
 */
export type FaultKind = "throttle" | "denied" | "down" | "latency" | "hang" | "region_disabled";

export const FAULT_KINDS: readonly FaultKind[] = [
  "throttle",
  "denied",
  "down",
  "latency",
  "hang",
  "region_disabled",
];

export interface SimFault {
  account?: string;
  region?: string;
  /** Action name, with or without the service prefix ("ListClusters" or "eks:ListClusters"). */
  action?: string;
  /** Only calls naming this EKS cluster (DescribeCluster, access entries, …): a per-cluster fault. */
  cluster?: string;
  kind: FaultKind;
  /** Probability 0..1 that a matching call is hit (default 1). */
  rate?: number;
  /**
   * Fires for this many matching calls, then removes itself: a burst of exactly that size, for
   * tests that must not depend on chance (a rate is random).
   */
  count?: number;
  /** Added latency for kind "latency". */
  ms?: number;
}

export interface SimCall {
  /** "eks:ListClusters", "sts:AssumeRole", … */
  action: string;
  account: string;
  region: string;
  /** Caller ARN ("" when unauthenticated). */
  principal: string;
  status: number;
  at: number;
}

export interface AccessEntryView {
  kubernetesGroups: string[];
  username: string;
  policies: string[];
}

/** In-process control of the simulated accounts; the same operations are served under /_sim/. */
export interface SimState {
  addCluster(seed: SimClusterSeed): Promise<SimCluster>;
  getCluster(account: string, region: string, name: string): SimCluster | undefined;
  getClusterByArn(arn: string): SimCluster | undefined;
  listClusters(): SimCluster[];
  tagCluster(account: string, region: string, name: string, tags: Record<string, string>): SimCluster;
  untagCluster(account: string, region: string, name: string, keys: string[]): SimCluster;
  setStatus(account: string, region: string, name: string, status: ClusterStatus): SimCluster;
  deleteCluster(account: string, region: string, name: string): void;
  /** The entry EKS would match for this caller: an sts assumed-role ARN is mapped to its IAM role first. */
  accessEntryFor(clusterArn: string, principalArn: string): AccessEntryView | undefined;
  /** Adds an account at run time (it joins the organization, so the next ListAccounts shows it). */
  addAccount(seed: SimAccountSeed): void;
  /** Ends AssumeRole sessions now (of one role, or all): calls signed with them get ExpiredToken. */
  expireSessions(roleArn?: string): number;
  injectFault(fault: SimFault): string;
  removeFault(id: string): void;
  clearFaults(): void;
  /** The newest calls (up to 100,000), oldest first. */
  calls(): SimCall[];
  /** Calls counted by action ("eks:DescribeCluster" → n). */
  callCounts(): Record<string, number>;
  resetCalls(): void;
  setLatency(ms: number): void;
  setRateLimit(limit: { rps: number; burst: number } | false): void;
}

export interface AwsSim {
  /** http://127.0.0.1:PORT — EKS (REST-JSON), STS (query) and /_sim/ control on one port. */
  url: string;
  /** AWS_ENDPOINT_URL_EKS, AWS_ENDPOINT_URL_STS, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION. */
  env: Record<string, string>;
  state: SimState;
  close(): Promise<void>;
}
