// Fetches EKS clusters for one matcher in one region: ListClusters (all pages), then DescribeCluster.
import { type Cluster, DescribeClusterCommand, EKSClient, ListClustersCommand } from "@aws-sdk/client-eks";
import { describeError } from "../lib/errors.ts";
import { mapLimit } from "../lib/pool.ts";
import { accountOfArn, type CredentialSet } from "./credentials.ts";
import type { EksClusterInfo, FetchResult, FoundCluster } from "./types.ts";

/** "ThrottlingException: Rate exceeded" — the AWS error code first, since messages rarely name it. */
export function awsErrorText(err: unknown): string {
  const name = (err as Error)?.name;
  const text = describeError(err);
  return name && name !== "Error" && !text.startsWith(name) ? `${name}: ${text}` : text;
}

// Prefixes of FetchResult.error saying which step failed (DescribeCluster errors name the cluster).
const IDENTITY_FAILED = "identity: ";
const LIST_FAILED = "ListClusters: ";

/** True when the fetch got as far as a successful ListClusters (a DescribeCluster may still have failed). */
export function listSucceeded(r: FetchResult): boolean {
  return !r.error || !(r.error.startsWith(IDENTITY_FAILED) || r.error.startsWith(LIST_FAILED));
}

/**
 * True when ListClusters was refused with the invalid-token codes AWS answers in a region the
 * account has not enabled (they also mean bad credentials, so callers need more evidence).
 */
export function listRefusedToken(error: string | undefined): boolean {
  const code = error?.startsWith(LIST_FAILED) ? error.slice(LIST_FAILED.length).split(":")[0] : undefined;
  return code === "UnrecognizedClientException" || code === "InvalidClientTokenId";
}

/** Counts one AWS call by action ("eks:ListClusters") and outcome ("ok" or the error name). */
export type CallCounter = (action: string, outcome: string) => void;

/** EKS clients per (credential set, region), with the SDK's adaptive retry on throttling. */
export interface EksClients {
  get(creds: CredentialSet, region: string): EKSClient;
  /** Runs one AWS call and counts it. */
  call<T>(action: string, fn: () => Promise<T>): Promise<T>;
  destroy(): void;
}

export function createEksClients({
  onCall,
  maxAttempts = 5,
}: {
  onCall?: CallCounter;
  maxAttempts?: number;
} = {}): EksClients {
  const clients = new Map<string, EKSClient>();
  return {
    get(creds, region) {
      const key = `${creds.key}@${region}`;
      let c = clients.get(key);
      if (!c) {
        c = new EKSClient({ region, credentials: creds.provider, retryMode: "adaptive", maxAttempts });
        clients.set(key, c);
      }
      return c;
    },
    async call(action, fn) {
      try {
        const out = await fn();
        onCall?.(action, "ok");
        return out;
      } catch (err) {
        onCall?.(action, (err as Error)?.name || "error");
        throw err;
      }
    },
    destroy() {
      for (const c of clients.values()) c.destroy();
      clients.clear();
    },
  };
}

export interface FetchOptions {
  matcher: number;
  region: string;
  creds: CredentialSet;
  clients: EksClients;
  /** DescribeCluster calls at once in this region. */
  describeConcurrency?: number;
  signal?: AbortSignal;
}

const toInfo = (c: Cluster): EksClusterInfo => ({
  name: c.name ?? "",
  arn: c.arn ?? "",
  status: c.status ?? "UNKNOWN",
  ...(c.endpoint ? { endpoint: c.endpoint } : {}),
  ...(c.certificateAuthority?.data ? { caData: c.certificateAuthority.data } : {}),
  ...(c.version ? { version: c.version } : {}),
  ...(c.createdAt ? { createdAt: c.createdAt.toISOString() } : {}),
  tags: c.tags ?? {},
  ...(c.accessConfig?.authenticationMode ? { authenticationMode: c.accessConfig.authenticationMode } : {}),
});

/**
 * Lists and describes every cluster the credentials see in `region`. Never throws: a failure
 * (identity, listing, or any DescribeCluster) is returned in `error` so the caller keeps what is
 * registered for this (account, region); clusters described before a failure are still returned.
 */
export async function fetchEksClusters({
  matcher,
  region,
  creds,
  clients,
  describeConcurrency = 8,
  signal,
}: FetchOptions): Promise<FetchResult> {
  let account: string | undefined;
  try {
    account = (await creds.identity()).account;
  } catch (err) {
    account = creds.roleArn ? accountOfArn(creds.roleArn) : undefined;
    return {
      matcher,
      region,
      ...(account ? { account } : {}),
      clusters: [],
      error: `${IDENTITY_FAILED}${awsErrorText(err)}`,
    };
  }
  const eks = clients.get(creds, region);
  const names: string[] = [];
  try {
    let nextToken: string | undefined;
    do {
      const page = await clients.call("eks:ListClusters", () =>
        eks.send(new ListClustersCommand({ maxResults: 100, ...(nextToken ? { nextToken } : {}) }), {
          abortSignal: signal,
        }),
      );
      names.push(...(page.clusters ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (err) {
    return { matcher, region, account, clusters: [], error: `${LIST_FAILED}${awsErrorText(err)}` };
  }
  const errors: string[] = [];
  const described = await mapLimit(names, describeConcurrency, async (name) => {
    try {
      const out = await clients.call("eks:DescribeCluster", () =>
        eks.send(new DescribeClusterCommand({ name }), { abortSignal: signal }),
      );
      return out.cluster ? toInfo(out.cluster) : undefined;
    } catch (err) {
      // Deleted between list and describe: simply gone, not a failure.
      if ((err as Error)?.name === "ResourceNotFoundException") return undefined;
      errors.push(`DescribeCluster ${name}: ${awsErrorText(err)}`);
      return undefined;
    }
  });
  const clusters: FoundCluster[] = described
    .filter((i): i is EksClusterInfo => i !== undefined)
    .map((info) => ({ matcher, account: account as string, region, info }));
  const error =
    errors.length === 0
      ? undefined
      : errors.length === 1
        ? errors[0]
        : `${errors[0]} (and ${errors.length - 1} more)`;
  return { matcher, region, account, clusters, ...(error ? { error } : {}) };
}
