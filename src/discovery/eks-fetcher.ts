// Fetches the EKS clusters of one scope (credentials × region): ListClusters (all pages), then
// DescribeCluster per cluster. A failure is a result, never a throw; what failed is kept per cluster.
import { type Cluster, DescribeClusterCommand, EKSClient, ListClustersCommand } from "@aws-sdk/client-eks";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import { awsRequestHandler, type Egress, processEgress } from "../lib/egress/index.ts";
import { describeError } from "../lib/errors.ts";
import { mapLimit } from "../lib/pool.ts";
import { accountOfArn, type CredentialSet } from "./credentials.ts";
import type { EksClusterInfo, ScopeFetch } from "./types.ts";

/** "ThrottlingException: Rate exceeded" — the AWS error code first, since messages rarely name it. */
export function awsErrorText(err: unknown): string {
  const name = (err as Error)?.name;
  const text = describeError(err);
  return name && name !== "Error" && !text.startsWith(name) ? `${name}: ${text}` : text;
}

/** AWS error names that mean "slow down" (EKS, STS, Organizations). */
const THROTTLED = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
]);
export const isThrottle = (err: unknown) => THROTTLED.has((err as Error)?.name ?? "");

/** Credentials the service refused as expired or unknown: drop cached credentials and clients. */
export const isCredentialRefusal = (err: unknown) =>
  ["ExpiredTokenException", "ExpiredToken", "UnrecognizedClientException", "InvalidClientTokenId"].includes(
    (err as Error)?.name ?? "",
  );

/**
 * Counts one AWS call by action ("eks:ListClusters") and outcome ("ok" or the error name), with
 * the attempts the SDK made (retries = attempts - 1) when known.
 */
export type CallCounter = (action: string, outcome: string, attempts?: number) => void;

const attemptsOf = (x: unknown) => (x as { $metadata?: { attempts?: number } })?.$metadata?.attempts;

export interface ClientSettings {
  maxAttempts?: number;
  /** Per attempt, ms. */
  callTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/**
 * The SDK settings every discovery client shares: adaptive retry, per-attempt timeouts. Direct
 * connections use Bun's fetch (FetchHttpHandler): the SDK's NodeHttpHandler runs on Bun's node:http
 * layer, which cost 2-3× the CPU a call and held more garbage — 14,000 calls a poll round in a
 * 40-account organization (see bench:discovery). Through a proxy (HTTPS_PROXY …) it stays
 * NodeHttpHandler with the egress agents, which CONNECT-tunnel (and honour NO_PROXY).
 */
export function sdkSettings(
  { maxAttempts = 5, callTimeoutMs = 10_000, connectTimeoutMs = 3_000 }: ClientSettings,
  egress: Egress = processEgress(),
) {
  const proxied = Boolean(egress.https || egress.http);
  return {
    retryMode: "adaptive",
    maxAttempts,
    requestHandler: proxied
      ? // throwOnRequestTimeout: without it the handler only logs a warning when a call overruns.
        awsRequestHandler(
          { requestTimeout: callTimeoutMs, connectionTimeout: connectTimeoutMs, throwOnRequestTimeout: true },
          egress,
        )
      : new FetchHttpHandler({
          requestTimeout: callTimeoutMs,
          // FetchHttpHandler's own timeout rejects the call but leaves the request open (a hung
          // endpoint would keep every timed-out socket): this signal ends the request itself, and
          // bounds reading the body too. Bun's fetch has no separate connect timeout: call_timeout
          // bounds the connect.
          requestInit: () => ({ signal: AbortSignal.timeout(callTimeoutMs) }),
        }),
  } as const;
}

/**
 * EKS clients per (credential set, region), the most recently used few kept; throttled answers
 * counted per (credential set, region) whatever client made them.
 */
export interface EksClients {
  get(creds: CredentialSet, region: string): EKSClient;
  /** Throttled answers (each attempt, retried or not) seen for that scope so far. */
  throttled(creds: CredentialSet, region: string): number;
  /** Drops that client (its cached credentials with it): the next get() makes a new one. */
  forget(creds: CredentialSet, region: string): void;
  /** Runs one AWS call and counts it. */
  call<T>(action: string, fn: () => Promise<T>): Promise<T>;
  destroy(): void;
}

export function createEksClients({
  onCall,
  maxClients = 64,
  ...settings
}: {
  onCall?: CallCounter;
  /**
   * Clients kept (least recently used dropped first). An SDK client with its middleware stack,
   * resolved config and adaptive rate limiter weighs ~30-70 KB: one per account × region (680 in an
   * organization of 40 accounts) held ~40 MB for clients each used once a poll interval.
   */
  maxClients?: number;
} & ClientSettings = {}): EksClients {
  const clients = new Map<string, EKSClient>();
  const throttled = new Map<string, number>();
  // One request handler for every client: fetch pools connections per host (so per region) by
  // itself; through a proxy, the egress agents pool.
  const shared = sdkSettings(settings);
  const keyOf = (creds: CredentialSet, region: string) => `${creds.key}@${region}`;
  return {
    get(creds, region) {
      const key = keyOf(creds, region);
      let client = clients.get(key);
      if (client) {
        // Most recently used last (Map order), so eviction takes the oldest.
        clients.delete(key);
        clients.set(key, client);
        return client;
      }
      client = new EKSClient({ region, credentials: creds.provider, ...shared });
      // The deserialize step runs once per attempt (inside the retry loop): count every throttled answer.
      client.middlewareStack.add(
        (next) => async (args) => {
          try {
            return await next(args);
          } catch (err) {
            if (isThrottle(err)) throttled.set(key, (throttled.get(key) ?? 0) + 1);
            throw err;
          }
        },
        { step: "deserialize", priority: "high", name: "kubeportCountThrottles" },
      );
      clients.set(key, client);
      // Not destroy() on the evicted one: a fetch may still use it, and it would close the shared
      // request handler; dropped, it is collected when that fetch ends.
      while (clients.size > maxClients) clients.delete(clients.keys().next().value!);
      return client;
    },
    throttled: (creds, region) => throttled.get(keyOf(creds, region)) ?? 0,
    forget(creds, region) {
      // Not client.destroy(): that would close the shared request handler.
      clients.delete(keyOf(creds, region));
    },
    async call(action, fn) {
      try {
        const out = await fn();
        onCall?.(action, "ok", attemptsOf(out));
        return out;
      } catch (err) {
        onCall?.(action, (err as Error)?.name || "error", attemptsOf(err));
        throw err;
      }
    },
    destroy() {
      // Nothing to close: fetch's pool and the egress agents are the process's.
      clients.clear();
    },
  };
}

export interface FetchOptions {
  region: string;
  creds: CredentialSet;
  clients: EksClients;
  /** DescribeCluster calls at once in this scope. */
  describeConcurrency?: number;
  /** Aborted at the scope's deadline (or when discovery stops). */
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

/** The step a scope was at, for "timed out during …" messages. */
export type FetchStep = "identity" | "ListClusters" | "DescribeCluster";

/**
 * Lists and describes every cluster the credentials see in `region`. Never throws. The account is
 * the caller identity's, else the assumed role's, else the one in the clusters' ARNs (so a failed
 * GetCallerIdentity does not stop enrolment). `listed` is set only when ListClusters completed;
 * clusters whose DescribeCluster failed are named in `describeFailed` (kept as registered), the
 * others are decided on their own.
 */
export async function fetchEksClusters(
  { region, creds, clients, describeConcurrency = 8, signal }: FetchOptions,
  onStep: (step: FetchStep) => void = () => {},
): Promise<ScopeFetch> {
  let account: string | undefined;
  let identityError: string | undefined;
  onStep("identity");
  try {
    account = (await creds.identity(signal)).account;
  } catch (err) {
    identityError = awsErrorText(err);
    account = creds.roleAccount;
    if (isCredentialRefusal(err)) creds.provider.invalidate();
  }
  const eks = clients.get(creds, region);
  const names: string[] = [];
  onStep("ListClusters");
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
    if (isCredentialRefusal(err)) {
      creds.provider.invalidate();
      clients.forget(creds, region);
    }
    const why = identityError && !account ? `identity: ${identityError}; ` : "";
    return {
      region,
      ...(account ? { account } : {}),
      clusters: [],
      describeFailed: [],
      error: `${why}ListClusters: ${awsErrorText(err)}`,
    };
  }
  onStep("DescribeCluster");
  const errors: string[] = [];
  const describeFailed: string[] = [];
  const described = await mapLimit(names, describeConcurrency, async (name) => {
    try {
      const out = await clients.call("eks:DescribeCluster", () =>
        eks.send(new DescribeClusterCommand({ name }), { abortSignal: signal }),
      );
      return out.cluster ? toInfo(out.cluster) : undefined;
    } catch (err) {
      // Deleted between list and describe: simply gone, not a failure.
      if ((err as Error)?.name === "ResourceNotFoundException") return undefined;
      describeFailed.push(name);
      errors.push(`DescribeCluster ${name}: ${awsErrorText(err)}`);
      return undefined;
    }
  });
  const infos = described.filter((i): i is EksClusterInfo => i !== undefined);
  account ??= infos.map((i) => accountOfArn(i.arn)).find((a) => a !== undefined);
  const error =
    errors.length === 0
      ? undefined
      : errors.length === 1
        ? errors[0]
        : `${errors[0]} (and ${errors.length - 1} more)`;
  return {
    region,
    ...(account ? { account } : {}),
    listed: names,
    clusters: infos.map((info) => ({ account: accountOfArn(info.arn) ?? account ?? "", region, info })),
    describeFailed,
    ...(error ? { error } : {}),
    ...(identityError ? { identityError } : {}),
  };
}
