// The discovery service: leader election; scopes fetched on their own schedules with deadlines;
// every fetch that ends triggers a reconcile (coalesced) of what all scopes last saw; then the
// access bootstrap, status and metrics.

import type { AwsCredentialIdentityProvider } from "@aws-sdk/types";
import type { Registry } from "prom-client";
import { type AwsMatcherConfig, type Config, checkMatchers } from "../config/index.ts";
import { type Clock, systemClock } from "../lib/clock.ts";
import { describeError, isKind, unavailable } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { DiscoveryConfig, DiscoveryStatusSpec } from "../registry/index.ts";
import {
  type Backend,
  createLeaderElector,
  type Fence,
  type Lease,
  type Resource,
} from "../registry/index.ts";
import {
  type AccessSummary,
  type AccessTarget,
  createAccessBootstrapper,
  type Leaver,
} from "./access-entries.ts";
import { type ClusterView, mapSink, watchClusters } from "./cluster-view.ts";
import { type Credentials, createCredentials } from "./credentials.ts";
import { type Built, buildDesired, type Departure } from "./desired.ts";
import { createEksClients, type FetchStep, fetchEksClusters, sdkSettings } from "./eks-fetcher.ts";
import { createDiscoveryMetrics } from "./metrics.ts";
import { listActiveAccounts, type OrganizationState } from "./organizations.ts";
import { reconcile } from "./reconcile.ts";
import { scopeError } from "./regions.ts";
import { createScopeScheduler, ScopeDeadline, type ScopeScheduler } from "./scheduler.ts";
import {
  accountOf,
  compileMatchers,
  fetchDigest,
  fetchSucceeded,
  forgetFetch,
  type MatcherRef,
  organizationKey,
  planScopes,
  recordFetch,
  type ScopePlan,
  type ScopeState,
} from "./scopes.ts";
import { type StatusOrganization, scopeRows, statusName, writeStatus } from "./status.ts";
import { applyPlan } from "./writer.ts";

export interface DiscoveryServiceOptions {
  config: Config;
  backend: Backend;
  log: Logger;
  /** This instance's name in the leader lock and status. */
  holder: string;
  metrics?: Registry;
  clock?: Clock;
  /** Scopes fetched at once (a scope slower than 5 s gives its slot up). */
  fetchConcurrency?: number;
  /** DescribeCluster calls at once per scope. */
  describeConcurrency?: number;
  /** Clusters whose access setup runs at once (Teleport: 10). */
  accessConcurrency?: number;
  /** Base AWS credentials (tests); default the SDK's node chain. */
  awsCredentials?: AwsCredentialIdentityProvider;
  /** Least gap between two reconciles while started; default 1 s. */
  reconcileGapMs?: number;
}

export interface PollResult {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  /** Desired names held by resources this group does not own. */
  conflicts: string[];
  /** Clusters enrolled (desired) now. */
  clusters: number;
  /** `account/region` of scopes whose last fetch failed (their undecided clusters were kept). */
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
  /** Campaigns for `discovery/<group>`; the leader fetches every scope at once, then each on its schedule. */
  start(): Promise<void>;
  /** Stops fetching and releases the lock at once. */
  stop(): Promise<void>;
  /** Fetches every scope now, then reconciles and sets up access. While started, only the leader may. */
  pollOnce(): Promise<PollResult>;
  isLeader(): boolean;
}

interface Reconciled {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  conflicts: string[];
  clusters: number;
  targets: AccessTarget[];
  /** Clusters that left the matchers (still in EKS) whose entries of this group are to be removed. */
  left: Leaver[];
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
  awsCredentials,
  reconcileGapMs = 1000,
}: DiscoveryServiceOptions): DiscoveryService {
  const log = rootLog.child({ component: "discovery" });
  const ds = config.discovery_service;
  const group = ds.discovery_group;
  const lock = `discovery/${statusName(group)}`;
  const metrics = createDiscoveryMetrics(metricsRegistry);
  const settings = { callTimeoutMs: ds.call_timeout, connectTimeoutMs: ds.connect_timeout };
  const onCall = (action: string, outcome: string, attempts?: number) => {
    metrics.awsCalls.inc({ action, outcome });
    if (attempts !== undefined && attempts > 1) metrics.awsRetries.inc({ action }, attempts - 1);
  };
  const credentials: Credentials = createCredentials({
    onCall,
    clientConfig: sdkSettings({ ...settings, maxAttempts: 3 }),
    ...(awsCredentials ? { base: awsCredentials } : {}),
  });
  const clients = createEksClients({ onCall, ...settings });
  const access = createAccessBootstrapper({
    clients,
    group,
    log,
    clock,
    concurrency: accessConcurrency,
    recheckMs: Math.min(10 * ds.poll_interval, 3_600_000),
  });
  const fileMatchers = ds.aws.map((c) => ({ source: "config", config: c }));
  let matchers: MatcherRef[] = compileMatchers(fileMatchers);
  const warnedConfigs = new Map<string, string>();
  const organizations = new Map<string, OrganizationState>();
  const states = new Map<string, ScopeState>();
  let plan: ScopePlan = { scopes: [], complete: false };
  const warnedConflicts = new Set<string>();
  /** Clusters not enrolled whose access entries this leader has looked at (or is cleaning) already. */
  const swept = new Set<string>();

  let started = false;
  let lease: Lease | undefined;
  let abort = new AbortController();
  let live: ScopeScheduler | undefined;
  let planTimer: ReturnType<typeof setTimeout> | undefined;
  let lastAccess: AccessSummary = { checked: 0, created: 0, updated: 0, associated: 0, warnings: [] };
  const manual = createScopeScheduler({
    intervalMs: ds.poll_interval,
    deadlineMs: ds.scope_timeout,
    concurrency: fetchConcurrency,
    run: (key, signal) => runScope(key, signal),
    timers: false,
    clock,
  });

  // ── organizations and the scope plan ─────────────────────────────────────────────────────────
  const listOrganizations = async (signal: AbortSignal) => {
    const orgs = matchers.filter((m) => m.config.organization);
    await Promise.all(
      orgs.map(async (m) => {
        const creds = credentials.forMatcher(m.config);
        const key = organizationKey(m.config, creds);
        const st = organizations.get(key) ?? {};
        organizations.set(key, st);
        st.lastAttempt = clock.now();
        try {
          st.accounts = await listActiveAccounts(creds, {
            onCall,
            ...settings,
            signal: AbortSignal.any([signal, AbortSignal.timeout(ds.scope_timeout)]),
          });
          st.lastSuccess = clock.now();
          delete st.error;
        } catch (err) {
          if (signal.aborted) return; // leadership lost or stopping: nothing was learned
          st.error = describeError(err);
          log.warn(
            { matcher: m.index, err: st.error, accounts: st.accounts?.length },
            st.accounts
              ? "organization accounts not listed; keeping the accounts listed before (nothing is deleted for an account that may have left)"
              : "organization accounts not listed; its accounts are unknown, so nothing outside known scopes is deleted",
          );
        }
      }),
    );
  };

  const organizationRows = (): StatusOrganization[] =>
    matchers
      .filter((m) => m.config.organization)
      .map((m) => {
        const st = organizations.get(organizationKey(m.config, credentials.forMatcher(m.config))) ?? {};
        return {
          matcher: m.index,
          ...(st.accounts ? { accounts: st.accounts.length } : {}),
          ...(st.lastAttempt !== undefined ? { last_list: new Date(st.lastAttempt).toISOString() } : {}),
          ...(st.error ? { error: st.error } : {}),
        };
      });

  const scopeLabels = (s: ScopeState) => ({ account: accountOf(s) ?? "unknown", region: s.scope.region });

  /**
   * The file's matchers plus those of every discovery_config of this group (by name), read now:
   * a discovery_config created, changed or removed is picked up by the next plan, without a restart.
   */
  const loadMatchers = async () => {
    const extra: { source: string; config: AwsMatcherConfig }[] = [];
    const configs = (await backend.list("discovery_config")) as DiscoveryConfig[];
    for (const dc of configs.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
      if (dc.spec.discovery_group !== group) continue;
      const source = `discovery_config/${dc.metadata.name}`;
      const checked = checkMatchers(dc.spec.aws, ["spec", "aws"]);
      if (!checked.matchers) {
        const why = checked.problems.join("; ");
        if (warnedConfigs.get(source) !== why)
          log.warn({ source, err: why }, "discovery_config ignored: invalid matchers");
        warnedConfigs.set(source, why);
        continue;
      }
      for (const config of checked.matchers) extra.push({ source, config });
    }
    const next = [...fileMatchers, ...extra];
    const key = (l: typeof next) => JSON.stringify(l);
    if (key(next) !== key(matchers.map((m) => ({ source: m.source, config: m.config })))) {
      if (extra.length || matchers.length !== fileMatchers.length)
        log.info({ matchers: next.map((m) => m.source) }, "matchers changed (discovery_config)");
      matchers = compileMatchers(next);
    }
  };

  /** Reads matchers, lists organizations, then plans the scopes; new scopes get a state, dropped ones lose theirs. */
  const refreshPlan = async (signal: AbortSignal) => {
    await loadMatchers().catch((err) =>
      log.warn(
        { err: describeError(err) },
        "cannot read discovery_config resources; keeping the matchers in use",
      ),
    );
    await listOrganizations(signal);
    // Aborted meanwhile (leadership lost): this plan may be older than the next term's; keep that one.
    if (signal.aborted) return;
    plan = planScopes(matchers, credentials, organizations);
    cache = undefined;
    changes++;
    const keys = new Set(plan.scopes.map((s) => s.key));
    for (const [key, st] of states)
      if (!keys.has(key)) {
        states.delete(key);
        for (const g of [metrics.scopeLastSuccess, metrics.scopeDuration, metrics.scopeClusters])
          g.remove(scopeLabels(st));
      }
    for (const scope of plan.scopes) {
      const st = states.get(scope.key);
      if (st) st.scope = scope;
      else states.set(scope.key, { scope, found: 0, failures: 0, throttled: 0, running: false });
    }
  };

  // ── one scope ───────────────────────────────────────────────────────────────────────────────
  const runScope = async (key: string, signal: AbortSignal): Promise<void> => {
    const st = states.get(key);
    if (!st) return;
    const { creds, region } = st.scope;
    st.running = true;
    const t0 = clock.now();
    const throttledBefore = clients.throttled(creds, region);
    let step: FetchStep = "identity";
    try {
      let fetch = await fetchEksClusters({ region, creds, clients, describeConcurrency, signal }, (s) => {
        step = s;
      });
      const reason = signal.reason;
      if (reason instanceof ScopeDeadline)
        fetch = { ...fetch, error: `${reason.message}; ${step} had not answered` };
      else if (signal.aborted) return; // stopped: nothing learned
      const ms = clock.now() - t0;
      const fingerprint = fetchDigest(fetch);
      // The same content as before: keep the earlier fetch's objects, which the registered resources
      // were built from (desired.ts reuses them as they are); this one is garbage at once.
      if (fingerprint === st.fingerprint && st.last) fetch = st.last;
      else changes++;
      st.fingerprint = fingerprint;
      recordFetch(st, fetch, clock.now(), ms);
      st.throttled += clients.throttled(creds, region) - throttledBefore;
      const labels = scopeLabels(st);
      metrics.scopeDuration.set(labels, ms / 1000);
      metrics.pollDuration.observe(ms / 1000);
      metrics.scopeThrottled.inc(labels, clients.throttled(creds, region) - throttledBefore);
      metrics.scopeClusters.set(labels, st.found);
      if (fetchSucceeded(fetch)) metrics.scopeLastSuccess.set(labels, Math.round(clock.now() / 1000));
      else {
        metrics.scopeFailures.inc(labels);
        const listedWith = new Set(
          [...states.values()].filter((x) => x.last?.listed !== undefined).map((x) => x.scope.creds.key),
        );
        log.warn(
          {
            scope: key,
            account: fetch.account,
            region,
            err: scopeError(fetch, creds.key, listedWith),
            failures: st.failures,
          },
          "scope fetch failed; keeping its undecided clusters",
        );
      }
    } finally {
      st.running = false;
    }
    markDirty();
  };

  // ── reconcile ───────────────────────────────────────────────────────────────────────────────
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn, fn);
    chain = p.catch(() => undefined);
    return p;
  };
  let lastStatusAt = 0;
  /**
   * What the last reconcile saw: `changes` counts fetches with new content, plans and others' writes
   * to kube_clusters; a reconcile with nothing new is skipped. The registry's kube_clusters: while
   * leading, `view` (a watch: its snapshot at the start of the term and after every reconnect, then
   * its changes; our writes applied at once), so no poll reads them all again. Without start(),
   * `cache`, read in full once per plan and kept in step with our writes.
   */
  let changes = 0;
  let reconciledChanges = -1;
  let view: ClusterView | undefined;
  /** A fetch of this term has ended (a new term forgets the earlier ones: see forgetFetch). */
  const fetchedInTerm = () => [...states.values()].some((s) => s.last !== undefined);
  let cache: Map<string, Resource> | undefined;
  /** What each resource this service built was built from (desired.ts: a steady state builds nothing). */
  const built: Built = new WeakMap();
  /** (Re)starts the leader's view from a fresh snapshot. */
  const openView = () => {
    view?.close();
    view = watchClusters(
      backend,
      () => {
        changes++;
        // Nothing fetched in this term yet: the first fetch's reconcile reads the view then.
        if (fetchedInTerm()) markDirty();
      },
      (err) => log.warn({ err: describeError(err) }, "kube_cluster watch interrupted; it reconnects"),
    );
  };
  /** The registry's kube_clusters now, and where writes are reported (see `view`). */
  const registered = async (signal: AbortSignal) => {
    const v = view;
    if (v) {
      if (!v.current())
        await Promise.race([
          v.ready,
          new Promise((_, reject) => {
            if (signal.aborted) reject(signal.reason);
            signal.addEventListener("abort", () => reject(signal.reason), { once: true });
          }),
        ]);
      return { clusters: v.current()!, sink: v, keep: (r: Resource) => v.keep(r) };
    }
    cache ??= new Map((await backend.list("kube_cluster")).map((r) => [r.metadata.name, r]));
    const c = cache;
    return {
      clusters: c,
      sink: mapSink(c),
      keep: (r: Resource) => void c.set(r.metadata.name, r),
    };
  };
  let lastStatus:
    | { counts: DiscoveryStatusSpec["counts"]; conflicts: { name: string; owner: string }[] }
    | undefined;
  /** Writes discovery_status from what the last reconcile and access run found. */
  const flushStatus = async (fence: Fence | undefined) => {
    if (!lastStatus) return;
    lastStatusAt = clock.now();
    const all = [...states.values()];
    await writeStatus(
      backend,
      {
        group,
        holder,
        fenceToken: fence?.token ?? 0,
        scopes: scopeRows(all),
        counts: lastStatus.counts,
        lastPoll: new Date(clock.now()).toISOString(),
        durationMs: Math.max(0, ...all.map((s) => s.durationMs ?? 0)),
        accessWarnings: lastAccess.warnings,
        accessProblems: lastAccess.problems ?? [],
        conflicts: lastStatus.conflicts,
        organizations: organizationRows(),
      },
      fence,
    );
  };

  /**
   * Departures whose access entries are to be removed: those of a scope (else, covered by no scope
   * any more, of any matcher) that sets up access and does not keep entries; reached with that
   * scope's credentials, else the role the cluster was registered with.
   */
  const leavers = (list: readonly Departure[]): Leaver[] =>
    list.flatMap((d) => {
      swept.add(d.arn);
      const ms = d.state?.scope.matchers ?? matchers;
      if (!ms.some((m) => m.config.setup_access) || ms.some((m) => m.config.keep_access_entries)) return [];
      const creds =
        d.state?.scope.creds ??
        (d.roleArn ? credentials.forRole(d.roleArn, d.externalId) : credentials.forMatcher({}));
      return [{ arn: d.arn, name: d.name, region: d.region, creds }];
    });
  /** Removes the leavers' entries of this group; a failed one is tried again at the next reconcile. */
  const depart = async (left: readonly Leaver[]) => {
    if (left.length === 0) return;
    for (const arn of await access.depart(left)) swept.delete(arn);
  };

  /** `status`: "auto" writes it when something changed or 2 s passed; "later": the caller flushes. */
  const reconcileOnce = async (
    fence: Fence | undefined,
    signal: AbortSignal,
    status: "auto" | "later",
  ): Promise<Reconciled> => {
    reconciledChanges = changes;
    const reg = await registered(signal);
    const current = [...reg.clusters.values()];
    const all = [...states.values()];
    const { desired, keep, targets, departed, strays } = buildDesired({
      states: all,
      complete: plan.complete,
      current,
      group,
      reuse: { built, byName: reg.clusters },
    });
    const p = reconcile({ current, desired, group, keep });
    for (const r of p.same) reg.keep(r);
    for (const name of p.conflicts) {
      if (warnedConflicts.has(name)) continue;
      warnedConflicts.add(name);
      log.warn(
        { name },
        "a kube_cluster of this name exists and is not owned by this discovery group; leaving it alone",
      );
    }
    const counts = await applyPlan({ backend, plan: p, fence, signal, log, targets, cache: reg.sink });
    if (counts.failed > 0) {
      // Someone else wrote (or the registry refused): start again from a fresh read of it all.
      // (The sink is the view when watched; a view replaced meanwhile is fresh already.)
      if (reg.sink !== view) cache = undefined;
      else if (lease === fence) openView();
      changes++;
    }
    const left = leavers([
      ...p.delete.flatMap((name) => (departed.has(name) ? [departed.get(name)!] : [])),
      ...strays.filter((d) => !swept.has(d.arn)),
    ]);
    for (const name of p.conflicts) targets.delete(name);
    metrics.clustersFound.set(desired.length + keep.size);
    metrics.created.inc(counts.created);
    metrics.updated.inc(counts.updated);
    metrics.deleted.inc(counts.deleted);
    metrics.polls.inc({ outcome: all.some((s) => s.last && !fetchSucceeded(s.last)) ? "partial" : "ok" });
    lastStatus = {
      counts: { ...counts, unchanged: p.unchanged },
      conflicts: p.conflicts.map((name) => ({ name, owner: ownerOf(current, name) })),
    };
    const changed = counts.created + counts.updated + counts.deleted > 0;
    if (status === "auto" && (changed || clock.now() - lastStatusAt > 2000)) await flushStatus(fence);
    return {
      ...counts,
      unchanged: p.unchanged,
      conflicts: p.conflicts,
      clusters: desired.length,
      targets: [...targets.values()],
      left,
    };
  };

  // While started: fetches that end mark the state dirty; one reconcile at a time, at most one per gap.
  let dirty = false;
  let looping = false;
  let accessQueued: Map<string, AccessTarget> | undefined;
  let accessRunning = false;
  const runAccess = (targets: AccessTarget[]) => {
    const merged = accessQueued ?? new Map<string, AccessTarget>();
    for (const t of targets) {
      const prev = merged.get(t.found.info.arn);
      merged.set(t.found.info.arn, prev?.changed ? { ...t, changed: true } : t);
    }
    accessQueued = merged;
    if (accessRunning) return;
    accessRunning = true;
    void (async () => {
      while (accessQueued && started && lease) {
        const batch = [...accessQueued.values()];
        accessQueued = undefined;
        lastAccess = await access.run(batch).catch((err) => {
          log.error({ err: describeError(err) }, "access setup failed");
          return lastAccess;
        });
        const l = lease;
        if (l) await serial(() => flushStatus(l)).catch(() => undefined);
      }
      accessRunning = false;
    })();
  };
  const markDirty = () => {
    if (!started || !lease) return;
    dirty = true;
    if (looping) return;
    looping = true;
    void (async () => {
      while (dirty && started && lease) {
        dirty = false;
        if (changes === reconciledChanges) break;
        const began = clock.now();
        const fence: Fence = lease;
        const signal = abort.signal;
        try {
          const r = await serial(() => reconcileOnce(fence, signal, "auto"));
          runAccess(r.targets);
          void depart(r.left);
        } catch (err) {
          if (isKind(err, "fenced")) log.warn({ err: describeError(err) }, "a newer leader exists; stopping");
          else {
            metrics.polls.inc({ outcome: "error" });
            log.error(
              { err: describeError(err) },
              "discovery reconcile failed; retrying after the next fetch",
            );
          }
        }
        // At most one reconcile per gap (longer when reconciles are slow, so fetches keep most of the
        // CPU): fetches ending meanwhile are handled together.
        const took = clock.now() - began;
        await Bun.sleep(Math.max(0, Math.max(reconcileGapMs, 3 * took) - took));
      }
      looping = false;
    })();
  };

  // ── leadership ──────────────────────────────────────────────────────────────────────────────
  /**
   * One term's planning loop. Leadership can be lost (and won again) while a plan reads the registry
   * or lists organizations: that term's loop then ends without a word, and a new term runs its own.
   */
  const replanLoop = async () => {
    const term = live;
    const signal = abort.signal;
    if (!started || !lease || !term) return;
    const ended = () => live !== term || signal.aborted;
    try {
      await refreshPlan(signal);
      if (ended()) return;
      term.sync(plan.scopes.map((s) => s.key));
      // A full pass after a replan (a scope or account may have gone), once anything is known.
      if (fetchedInTerm()) markDirty();
    } catch (err) {
      if (ended()) return;
      log.error({ err: describeError(err) }, "planning scopes failed");
    }
    if (!ended()) planTimer = setTimeout(() => void replanLoop(), ds.poll_interval);
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
      // A new term: look again for entries left on clusters that departed while no one led, and
      // forget the fetches of an earlier term (others may have led since; see forgetFetch).
      swept.clear();
      for (const st of states.values()) forgetFetch(st);
      // The term starts from the watch's fresh snapshot of the registry.
      openView();
      live = createScopeScheduler({
        intervalMs: ds.poll_interval,
        deadlineMs: ds.scope_timeout,
        concurrency: fetchConcurrency,
        run: (key, signal) => runScope(key, signal),
        clock,
      });
      void replanLoop();
    },
    onLost: () => {
      lease = undefined;
      view?.close();
      view = undefined;
      clearTimeout(planTimer);
      abort.abort(unavailable("leadership lost"));
      void live?.stop();
      live = undefined;
    },
  });

  const pollOnce = async (): Promise<PollResult> => {
    if (started && !lease) throw unavailable(`not the leader of ${lock}`);
    const fence: Fence | undefined = lease;
    const signal = abort.signal;
    const scheduler = live ?? manual;
    const t0 = clock.now();
    await refreshPlan(signal);
    scheduler.sync(plan.scopes.map((s) => s.key));
    await scheduler.runNow();
    if (signal.aborted) throw unavailable("poll aborted");
    const fetchMs = clock.now() - t0;
    const r = await serial(() => reconcileOnce(fence, signal, "later"));
    const reconcileMs = clock.now() - t0;
    lastAccess = await access.run(r.targets);
    await depart(r.left);
    await serial(() => flushStatus(fence));
    const durationMs = clock.now() - t0;
    const rows = scopeRows([...states.values()]);
    const failed = [...states.values()]
      .filter((s) => s.last && !fetchSucceeded(s.last))
      .map((s) => `${accountOf(s) ?? "*"}/${s.scope.region}`);
    log.info(
      {
        created: r.created,
        updated: r.updated,
        deleted: r.deleted,
        unchanged: r.unchanged,
        clusters: r.clusters,
        failed,
        ms: durationMs,
      },
      "discovery poll done",
    );
    return {
      created: r.created,
      updated: r.updated,
      deleted: r.deleted,
      unchanged: r.unchanged,
      conflicts: r.conflicts,
      clusters: r.clusters,
      failedScopes: [...new Set(failed)].sort(),
      scopes: rows,
      writes: r.created + r.updated + r.deleted,
      access: lastAccess,
      durationMs,
      timings: { fetchMs, reconcileMs, accessMs: durationMs - reconcileMs },
    };
  };

  return {
    async start() {
      if (started) return;
      started = true;
      log.info({ group, holder, lock, matchers: matchers.length }, "discovery service starting");
      elector.start();
    },
    async stop() {
      if (!started) {
        await manual.stop();
        clients.destroy();
        return;
      }
      started = false;
      clearTimeout(planTimer);
      abort.abort(unavailable("stopping"));
      await live?.stop();
      live = undefined;
      view?.close();
      view = undefined;
      await chain;
      await elector.stop();
      lease = undefined;
      clients.destroy();
    },
    pollOnce,
    isLeader: () => lease !== undefined,
  };
}

/** Who holds `name` instead of us: its discovery group, or `origin:<origin>` for a resource discovery did not make. */
function ownerOf(
  current: readonly { metadata: { name: string; labels?: Record<string, string> } }[],
  name: string,
): string {
  const labels = current.find((r) => r.metadata.name === name)?.metadata.labels ?? {};
  return labels["kubeport.dev/origin"] === "cloud"
    ? (labels["kubeport.dev/discovery-group"] ?? "")
    : `origin:${labels["kubeport.dev/origin"] ?? "none"}`;
}
