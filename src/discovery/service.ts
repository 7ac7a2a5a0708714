// The discovery service: leader-elected poll loop wiring fetchers → matcher → naming → reconcile → writer.
import type { Registry } from "prom-client";
import type { AwsMatcherConfig, Config } from "../config/index.ts";
import { createBackoff, jitter } from "../lib/backoff.ts";
import { type Clock, systemClock } from "../lib/clock.ts";
import { describeError, isKind, unavailable } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { mapLimit } from "../lib/pool.ts";
import {
  type Backend,
  createLeaderElector,
  type DiscoveryStatusSpec,
  type Fence,
  type KubeCluster,
  type Lease,
  type Resource,
} from "../registry/index.ts";
import { type AccessSummary, type AccessTarget, createAccessBootstrapper } from "./access-entries.ts";
import { type CredentialSet, createCredentials } from "./credentials.ts";
import { toKubeCluster } from "./eks-cluster.ts";
import { createEksClients, fetchEksClusters } from "./eks-fetcher.ts";
import { LABEL_GROUP, LABEL_ORIGIN, ORIGIN_CLOUD, scopeKey } from "./labels.ts";
import { createClusterMatcher, ENROLLED_STATUS, KEPT_STATUS } from "./matcher.ts";
import { createDiscoveryMetrics } from "./metrics.ts";
import { assignNames } from "./naming.ts";
import { inFailedScope, isOwned, reconcile } from "./reconcile.ts";
import { expandRegions, hintRegionsNotEnabled } from "./regions.ts";
import { statusName, writeStatus } from "./status.ts";
import type { FetchResult, FoundCluster } from "./types.ts";

export interface DiscoveryServiceOptions {
  config: Config;
  backend: Backend;
  log: Logger;
  /** This instance's name in the leader lock and status. */
  holder: string;
  metrics?: Registry;
  clock?: Clock;
  /** Matcher × region fetches at once. */
  fetchConcurrency?: number;
  /** DescribeCluster calls at once per region. */
  describeConcurrency?: number;
  /** Clusters whose access setup runs at once (Teleport: 10). */
  accessConcurrency?: number;
}

export interface PollResult {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  /** Desired names held by resources this group does not own. */
  conflicts: string[];
  /** Clusters enrolled (desired) this poll. */
  clusters: number;
  /** `account/region` scopes whose fetch failed (nothing there was deleted). */
  failedScopes: string[];
  scopes: DiscoveryStatusSpec["scopes"];
  /** kube_cluster writes made (creates + updates + deletes). */
  writes: number;
  access: AccessSummary;
  durationMs: number;
  /** Milliseconds from the poll's start until the fetch ended, the registry matched, and access setup ended. */
  timings: { fetchMs: number; reconcileMs: number; accessMs: number };
}

export interface DiscoveryService {
  /** Starts campaigning for `discovery/<group>`; the leader polls at once, then every poll_interval (jittered). */
  start(): Promise<void>;
  /** Stops polling and releases the lock at once. */
  stop(): Promise<void>;
  /** One poll now (joins a poll in flight). While started, only the leader may poll. */
  pollOnce(): Promise<PollResult>;
  isLeader(): boolean;
}

/** A registered cluster seen as a discovery result (its labels hold its tags), for naming. */
function registeredAsFound(r: Resource): FoundCluster | undefined {
  const aws = (r as KubeCluster).spec?.aws;
  if (!aws?.arn) return undefined;
  return {
    matcher: -1,
    account: aws.account_id,
    region: aws.region,
    info: { name: aws.name, arn: aws.arn, status: ENROLLED_STATUS, tags: r.metadata.labels ?? {} },
  };
}

/** Who holds `name` instead of us: its discovery group, or `origin:<origin>` for a resource discovery did not make. */
function ownerOf(current: readonly Resource[], name: string): string {
  const labels = current.find((r) => r.metadata.name === name)?.metadata.labels ?? {};
  return labels[LABEL_ORIGIN] === ORIGIN_CLOUD
    ? (labels[LABEL_GROUP] ?? "")
    : `origin:${labels[LABEL_ORIGIN] ?? "none"}`;
}

/** Creates the EKS discovery service (see the module header); nothing runs until start() or pollOnce(). */
export function createDiscoveryService({
  config,
  backend,
  log: rootLog,
  holder,
  metrics: metricsRegistry,
  clock = systemClock,
  fetchConcurrency = 32,
  describeConcurrency = 8,
  accessConcurrency = 10,
}: DiscoveryServiceOptions): DiscoveryService {
  const log = rootLog.child({ component: "discovery" });
  const ds = config.discovery_service;
  const group = ds.discovery_group;
  const lock = `discovery/${statusName(group)}`;
  const metrics = createDiscoveryMetrics(metricsRegistry);
  const onCall = (action: string, outcome: string) => metrics.awsCalls.inc({ action, outcome });
  const credentials = createCredentials({ onCall });
  const clients = createEksClients({ onCall });
  const access = createAccessBootstrapper({ clients, log, clock, concurrency: accessConcurrency });
  const matchers = ds.aws
    .filter((m) => m.types.includes("eks"))
    .map((m, i) => ({ index: i, config: m, select: createClusterMatcher(m.tags) }));
  const warnedConflicts = new Set<string>();
  const retryDelay = createBackoff({ baseMs: 1000, maxMs: 60_000 });

  let started = false;
  let lease: Lease | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<PollResult> | undefined;
  /** The fencing token the poll in flight writes under. */
  let inFlightToken: number | undefined;
  let abort = new AbortController();
  let failures = 0;

  const poll = async (fence: Fence | undefined, signal: AbortSignal): Promise<PollResult> => {
    const t0 = performance.now();
    const tasks = matchers.flatMap((m) =>
      expandRegions(m.config.regions).map((region) => ({
        m,
        region,
        creds: credentials.forMatcher(m.config),
      })),
    );
    // Matchers sharing credentials and a region share one fetch; each applies its own selector.
    const keyOf = (t: (typeof tasks)[number]) => `${t.creds.key}@${t.region}`;
    const unique = [...new Map(tasks.map((t) => [keyOf(t), t])).values()];
    const fetched = hintRegionsNotEnabled(
      await mapLimit(unique, fetchConcurrency, ({ m, region, creds }) =>
        fetchEksClusters({ matcher: m.index, region, creds, clients, describeConcurrency, signal }),
      ),
      unique.map((t) => t.creds.key),
    );
    const byKey = new Map(unique.map((t, i) => [keyOf(t), fetched[i]!]));
    const results: FetchResult[] = tasks.map((t) => ({ ...byKey.get(keyOf(t))!, matcher: t.m.index }));
    if (signal.aborted) throw unavailable("poll aborted");
    const fetchMs = Math.round(performance.now() - t0);

    const now = new Date(clock.now()).toISOString();
    const failed = new Set<string>();
    const scopes: DiscoveryStatusSpec["scopes"] = [];
    const byArn = new Map<string, { found: FoundCluster; matcher: AwsMatcherConfig; creds: CredentialSet }>();
    for (const [i, r] of results.entries()) {
      const task = tasks[i]!;
      if (r.error) {
        failed.add(scopeKey(r.account ?? "*", r.region));
        log.warn(
          { matcher: r.matcher, account: r.account, region: r.region, err: r.error },
          "fetch failed; keeping what is registered for this account and region",
        );
      }
      let count = 0;
      for (const f of r.clusters) {
        if (f.info.status !== ENROLLED_STATUS && f.info.status !== KEPT_STATUS) continue;
        if (!task.m.select.matches(f.info, f.account, f.region)) continue;
        count++;
        if (!byArn.has(f.info.arn))
          byArn.set(f.info.arn, { found: f, matcher: task.m.config, creds: task.creds });
      }
      scopes.push({
        matcher: r.matcher,
        ...(r.account ? { account: r.account } : {}),
        region: r.region,
        last_poll: now,
        clusters: count,
        ...(r.error ? { error: r.error } : {}),
      });
    }

    // Names are assigned over ACTIVE and UPDATING clusters, plus what is registered in failed
    // scopes, so an update or an outage elsewhere does not rename anything.
    const current = await backend.list("kube_cluster");
    const phantoms = current
      .filter((r) => isOwned(r, group) && inFailedScope(r, failed))
      .flatMap((r) => {
        const f = registeredAsFound(r);
        return f && !byArn.has(f.info.arn) ? [f] : [];
      });
    const names = assignNames([...[...byArn.values()].map((e) => e.found), ...phantoms]);
    const desired: KubeCluster[] = [];
    const keepArns = new Set<string>();
    const targets = new Map<string, AccessTarget>();
    for (const { found, matcher, creds } of byArn.values()) {
      if (found.info.status !== ENROLLED_STATUS || !found.info.endpoint) {
        keepArns.add(found.info.arn);
        continue;
      }
      const name = names.get(found.info.arn)!;
      desired.push(toKubeCluster(found, name, group));
      targets.set(name, { found, matcher, creds, changed: false });
    }

    const plan = reconcile({ current, desired, group, failedScopes: failed, keepArns });
    for (const name of plan.conflicts) {
      if (warnedConflicts.has(name)) continue;
      warnedConflicts.add(name);
      log.warn(
        { name },
        "a kube_cluster of this name exists and is not owned by this discovery group; leaving it alone",
      );
    }
    const opts = fence ? { fence } : undefined;
    const counts = { created: 0, updated: 0, deleted: 0 };
    // A fenced write means another leader exists: stop at once, do not retry.
    const write = async (what: string, name: string, fn: () => Promise<unknown>) => {
      if (signal.aborted) throw unavailable("poll aborted");
      try {
        await fn();
        return true;
      } catch (err) {
        if (isKind(err, "fenced")) throw err;
        log.warn({ name, err: describeError(err) }, `${what} failed; retrying next poll`);
        return false;
      }
    };
    await mapLimit(plan.create, 16, async (r) => {
      if (await write("create", r.metadata.name, () => backend.create(r, opts))) {
        counts.created++;
        targets.get(r.metadata.name)!.changed = true;
        log.info({ name: r.metadata.name, arn: r.spec.aws?.arn }, "kube_cluster created");
      }
    });
    await mapLimit(plan.update, 16, async (r) => {
      if (await write("update", r.metadata.name, () => backend.compareAndSwap(r, opts))) {
        counts.updated++;
        targets.get(r.metadata.name)!.changed = true;
        log.info({ name: r.metadata.name }, "kube_cluster updated");
      }
    });
    await mapLimit(plan.delete, 16, async (name) => {
      if (await write("delete", name, () => backend.delete("kube_cluster", name, opts))) {
        counts.deleted++;
        log.info({ name }, "kube_cluster deleted");
      }
    });

    const reconcileMs = Math.round(performance.now() - t0);
    for (const name of plan.conflicts) targets.delete(name);
    const accessSummary = await access.run([...targets.values()]);
    const durationMs = Math.round(performance.now() - t0);
    const result: PollResult = {
      ...counts,
      unchanged: plan.unchanged,
      conflicts: plan.conflicts,
      clusters: desired.length,
      failedScopes: [...failed].sort(),
      scopes,
      writes: counts.created + counts.updated + counts.deleted,
      access: accessSummary,
      durationMs,
      timings: { fetchMs, reconcileMs, accessMs: durationMs - reconcileMs },
    };
    await writeStatus(
      backend,
      {
        group,
        holder,
        fenceToken: fence?.token ?? 0,
        scopes,
        counts: {
          created: counts.created,
          updated: counts.updated,
          deleted: counts.deleted,
          unchanged: plan.unchanged,
        },
        lastPoll: now,
        durationMs,
        accessWarnings: accessSummary.warnings,
        conflicts: plan.conflicts.map((name) => ({ name, owner: ownerOf(current, name) })),
      },
      fence,
    );
    metrics.polls.inc({ outcome: failed.size > 0 ? "partial" : "ok" });
    metrics.clustersFound.set(desired.length);
    metrics.created.inc(counts.created);
    metrics.updated.inc(counts.updated);
    metrics.deleted.inc(counts.deleted);
    metrics.pollDuration.observe(durationMs / 1000);
    log.info(
      {
        ...counts,
        unchanged: plan.unchanged,
        clusters: desired.length,
        failed: result.failedScopes,
        ms: durationMs,
      },
      "discovery poll done",
    );
    return result;
  };

  const pollOnce = (): Promise<PollResult> => {
    if (inFlight && inFlightToken === lease?.token) return inFlight;
    if (started && !lease) return Promise.reject(unavailable(`not the leader of ${lock}`));
    const fence = lease ? { lock, token: lease.token } : undefined;
    const signal = abort.signal;
    // A poll left from a lease we lost (re-elected at once after a Redis failover) is ending,
    // aborted: start ours after it rather than hand its "leadership lost" error to the new lease.
    const before = inFlight?.catch(() => undefined) ?? Promise.resolve();
    const p: Promise<PollResult> = before
      .then(() => poll(fence, signal))
      .finally(() => {
        if (inFlight === p) inFlight = undefined;
      });
    inFlight = p;
    inFlightToken = lease?.token;
    return p;
  };

  const schedule = (ms: number) => {
    clearTimeout(timer);
    if (!started || !lease) return;
    timer = setTimeout(tick, ms);
  };

  const tick = () => {
    pollOnce().then(
      () => {
        failures = 0;
        schedule(jitter(ds.poll_interval));
      },
      (err) => {
        if (!started || !lease) return;
        if (isKind(err, "fenced"))
          log.warn({ err: describeError(err) }, "a newer leader exists; stopping this poll");
        else {
          metrics.polls.inc({ outcome: "error" });
          log.error({ err: describeError(err) }, "discovery poll failed");
        }
        schedule(Math.min(ds.poll_interval, retryDelay(failures++)));
      },
    );
  };

  const elector = createLeaderElector({
    backend,
    lock,
    holder,
    ttlMs: config.kubeport.lock_ttl,
    log,
    onElected: (l) => {
      lease = l;
      abort = new AbortController();
      schedule(0);
    },
    onLost: () => {
      lease = undefined;
      clearTimeout(timer);
      abort.abort(unavailable("leadership lost"));
    },
  });

  return {
    async start() {
      if (started) return;
      started = true;
      log.info({ group, holder, lock, matchers: matchers.length }, "discovery service starting");
      elector.start();
    },
    async stop() {
      if (!started) {
        clients.destroy();
        return;
      }
      started = false;
      clearTimeout(timer);
      abort.abort(unavailable("stopping"));
      await inFlight?.catch(() => undefined);
      await elector.stop();
      lease = undefined;
      clients.destroy();
    },
    pollOnce,
    isLeader: () => lease !== undefined,
  };
}
