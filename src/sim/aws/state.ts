// SimState: the simulated accounts' data (clusters, access entries, identities), faults, limits and the call log.
import { randomBytes } from "node:crypto";
import { createCa } from "../../lib/x509.ts";
import { ADMIN_POLICY, associate, findEntryFor, newAccessEntry, viewFor } from "./access-entries.ts";
import { clusterArn, createClusterStore } from "./cluster-store.ts";
import { createFaults, createRateLimiter } from "./faults.ts";
import { createIdentity, DEFAULT_ACCOUNT, DEFAULT_PRINCIPAL } from "./identity.ts";
import type {
  AwsSimOptions,
  ClusterStatus,
  SimAccountSeed,
  SimCall,
  SimCluster,
  SimClusterSeed,
  SimState,
} from "./types.ts";

let dummyCa: Promise<string> | undefined;
/** A real (self-signed) CA certificate, base64 of its PEM as EKS returns it; made once per process. */
export function dummyCaData(): Promise<string> {
  dummyCa ??= createCa("kubernetes").then((ca) => Buffer.from(ca.certPem).toString("base64"));
  return dummyCa;
}

export const DEFAULT_K8S_VERSION = "1.32";
const MAX_CALLS = 100_000;

export function defaultAccounts(): SimAccountSeed[] {
  return [{ id: DEFAULT_ACCOUNT, principals: [DEFAULT_PRINCIPAL] }];
}

export interface SimInternals extends SimState {
  identity: ReturnType<typeof createIdentity>;
  store: ReturnType<typeof createClusterStore>;
  faults: ReturnType<typeof createFaults>;
  limiter: ReturnType<typeof createRateLimiter>;
  accounts: SimAccountSeed[];
  /** The organization (management account, when it was formed), or undefined when there is none. */
  organization(): { managementAccount: string; joinedAt: number } | undefined;
  latencyMs(): number;
  record(call: Omit<SimCall, "at">): void;
}

export function createSimState(opts: AwsSimOptions): SimInternals {
  const accounts = opts.accounts?.length ? opts.accounts : defaultAccounts();
  const identity = createIdentity(accounts);
  const store = createClusterStore();
  const faults = createFaults();
  const limiter = createRateLimiter();
  limiter.set(opts.rateLimit ?? false);
  let latency = opts.latencyMs ?? 0;
  let log: SimCall[] = [];
  const counts = new Map<string, number>();
  const firstAccount = (accounts[0] as SimAccountSeed).id;
  const org =
    opts.organization === false
      ? undefined
      : { managementAccount: opts.organization?.managementAccount ?? firstAccount, joinedAt: Date.now() };

  const must = (account: string, region: string, name: string): SimCluster => {
    const c = store.get(account, region, name);
    if (!c) throw new Error(`no simulated cluster ${account}/${region}/${name}`);
    return c;
  };

  const state: SimInternals = {
    identity,
    store,
    faults,
    limiter,
    accounts,
    organization: () => org,
    latencyMs: () => latency,
    record(call) {
      log.push({ ...call, at: Date.now() });
      // Keep the newest MAX_CALLS entries so a long-running demo does not grow without bound; counts stay exact.
      if (log.length > MAX_CALLS + MAX_CALLS / 5) log = log.slice(-MAX_CALLS);
      counts.set(call.action, (counts.get(call.action) ?? 0) + 1);
    },

    async addCluster(seed: SimClusterSeed): Promise<SimCluster> {
      const account = seed.account ?? firstAccount;
      if (!/^\d{12}$/.test(account)) throw new Error(`bad account id ${account}`);
      if (!seed.name || !/^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/.test(seed.name))
        throw new Error(`bad cluster name ${seed.name}`);
      if (store.has(account, seed.region, seed.name))
        throw new Error(`cluster ${seed.name} already exists in ${account}/${seed.region}`);
      const c: SimCluster = {
        name: seed.name,
        arn: clusterArn(account, seed.region, seed.name),
        account,
        region: seed.region,
        status: seed.status ?? "ACTIVE",
        version: seed.version ?? DEFAULT_K8S_VERSION,
        platformVersion: "eks.8",
        endpoint: `https://${randomBytes(16).toString("hex").toUpperCase()}.gr7.${seed.region}.eks.amazonaws.com`,
        caData: "",
        createdAt: new Date(),
        tags: { ...(seed.tags ?? {}) },
        authenticationMode: seed.authenticationMode ?? "API_AND_CONFIG_MAP",
        accessEntries: new Map(),
      };
      if (c.authenticationMode !== "CONFIG_MAP") {
        const creator = accounts.find((a) => a.id === account)?.principals?.[0];
        if (creator && seed.creatorAdmin !== false) {
          const e = newAccessEntry(c, creator.arn, {});
          associate(e, ADMIN_POLICY, { type: "cluster", namespaces: [] });
          c.accessEntries.set(creator.arn, e);
        }
        for (const s of seed.accessEntries ?? []) {
          const e = newAccessEntry(c, s.principalArn, {
            kubernetesGroups: s.kubernetesGroups ?? [],
            ...(s.username ? { username: s.username } : {}),
          });
          for (const p of s.policies ?? []) associate(e, p, { type: "cluster", namespaces: [] });
          c.accessEntries.set(s.principalArn, e);
        }
      }
      if (opts.kubeApi) {
        const api = await opts.kubeApi(c);
        c.endpoint = api.endpoint;
        c.caData = api.caData;
      } else {
        c.caData = await dummyCaData();
      }
      store.add(c);
      return c;
    },
    getCluster: (account, region, name) => store.get(account, region, name),
    getClusterByArn: (arn) => store.getByArn(arn),
    listClusters: () => store.all(),
    tagCluster(account, region, name, tags) {
      const c = must(account, region, name);
      Object.assign(c.tags, tags);
      return c;
    },
    untagCluster(account, region, name, keys) {
      const c = must(account, region, name);
      for (const k of keys) delete c.tags[k];
      return c;
    },
    setStatus(account, region, name, status: ClusterStatus) {
      const c = must(account, region, name);
      c.status = status;
      return c;
    },
    deleteCluster(account, region, name) {
      if (!store.delete(account, region, name))
        throw new Error(`no simulated cluster ${account}/${region}/${name}`);
    },
    accessEntryFor(arn, principalArn) {
      const c = store.getByArn(arn);
      if (!c || c.authenticationMode === "CONFIG_MAP") return undefined;
      const e = findEntryFor(c, principalArn);
      return e ? viewFor(e, principalArn) : undefined;
    },
    addAccount(seed) {
      if (!/^\d{12}$/.test(seed.id)) throw new Error(`bad account id ${seed.id}`);
      if (accounts.some((a) => a.id === seed.id)) throw new Error(`account ${seed.id} already exists`);
      identity.addAccount(seed);
      accounts.push(seed);
    },
    expireSessions: (roleArn) => identity.expireSessions(roleArn),
    injectFault: (f) => faults.inject(f),
    removeFault: (id) => faults.remove(id),
    clearFaults: () => faults.clear(),
    calls: () => [...log],
    callCounts: () => Object.fromEntries(counts),
    resetCalls() {
      log = [];
      counts.clear();
    },
    setLatency(ms) {
      latency = ms;
    },
    setRateLimit(l) {
      limiter.set(l);
    },
  };
  return state;
}
