// Scopes: every (credentials, region) the matchers cover — an organization matcher's accounts
// included — and what is known of each: its latest fetch, last success, counts and failures.
import { createHash } from "node:crypto";
import type { AwsMatcherConfig } from "../config/index.ts";
import type { CredentialSet, Credentials } from "./credentials.ts";
import { type ClusterMatcher, createClusterMatcher, ENROLLED_STATUS, KEPT_STATUS } from "./matcher.ts";
import { type OrganizationState, selectAccounts } from "./organizations.ts";
import { expandRegions } from "./regions.ts";
import type { ScopeFetch } from "./types.ts";

/** One matcher, from the config file or a discovery_config resource. */
export interface MatcherRef {
  /** Position in the merged list (file matchers first), shown in status. */
  index: number;
  /** "config" or "discovery_config/<name>". */
  source: string;
  config: AwsMatcherConfig;
  select: ClusterMatcher;
}

export const compileMatchers = (
  list: readonly { source: string; config: AwsMatcherConfig }[],
): MatcherRef[] =>
  list
    .filter((m) => m.config.types.includes("eks"))
    .map((m, index) => ({
      index,
      source: m.source,
      config: m.config,
      select: createClusterMatcher(m.config.tags),
    }));

/** One unit of fetching: credentials × region, shared by every matcher using both. */
export interface Scope {
  /** `<credentials key>@<region>`. */
  key: string;
  creds: CredentialSet;
  region: string;
  matchers: MatcherRef[];
}

/** The organization a matcher lists accounts of, keyed by the credentials that list them. */
export const organizationKey = (m: AwsMatcherConfig, creds: CredentialSet) =>
  `${creds.key}#${JSON.stringify(m.organization)}`;

export interface ScopePlan {
  scopes: Scope[];
  /** False while some organization's accounts are unknown: clusters outside known scopes are kept. */
  complete: boolean;
}

/** Expands the matchers into scopes; an organization matcher covers the accounts last listed for it. */
export function planScopes(
  matchers: readonly MatcherRef[],
  credentials: Credentials,
  organizations: ReadonlyMap<string, OrganizationState>,
): ScopePlan {
  const byKey = new Map<string, Scope>();
  let complete = true;
  const add = (creds: CredentialSet, m: MatcherRef) => {
    for (const region of expandRegions(m.config.regions)) {
      const key = `${creds.key}@${region}`;
      const s = byKey.get(key);
      if (s) s.matchers.push(m);
      else byKey.set(key, { key, creds, region, matchers: [m] });
    }
  };
  for (const m of matchers) {
    const org = m.config.organization;
    if (!org) {
      add(credentials.forMatcher(m.config), m);
      continue;
    }
    const known = organizations.get(organizationKey(m.config, credentials.forMatcher(m.config)))?.accounts;
    if (!known) {
      complete = false;
      continue;
    }
    for (const account of selectAccounts(known, org))
      add(credentials.forRole(`arn:aws:iam::${account}:role/${org.role_name}`, org.external_id), m);
  }
  return { scopes: [...byKey.values()], complete };
}

/** Everything known of one scope. */
export interface ScopeState {
  scope: Scope;
  /** The latest fetch that ended (undefined before the first). */
  last?: ScopeFetch;
  /** Sets over `last` for the deletion rule. */
  listed?: ReadonlySet<string>;
  describeFailed?: ReadonlySet<string>;
  /** Clusters the matchers selected in the last fully successful fetch: kept through failures. */
  found: number;
  lastAttempt?: number;
  lastSuccess?: number;
  /** Duration of the latest fetch, ms. */
  durationMs?: number;
  /** Consecutive failed fetches. */
  failures: number;
  /** Throttled answers the scope's client got, all time. */
  throttled: number;
  running: boolean;
  /** The step a running fetch is at (for "timed out during …"). */
  step?: string;
  /** The last fetch's content as text: an equal fetch changes nothing, so it needs no reconcile. */
  fingerprint?: string;
}

/** The account a scope acts in, as far as it is known (fetch, assumed role, last identity). */
export const accountOf = (s: ScopeState): string | undefined =>
  s.last?.account ?? s.scope.creds.roleAccount ?? s.scope.creds.knownIdentity()?.account;

/** True when a fetch counts as a success: the listing completed and every cluster was described. */
export const fetchSucceeded = (f: ScopeFetch) =>
  f.listed !== undefined && f.describeFailed.length === 0 && !f.error;

/** Records a finished fetch in `state` (counts kept on failure). */
export function recordFetch(state: ScopeState, fetch: ScopeFetch, at: number, durationMs: number): void {
  state.last = fetch;
  state.listed = fetch.listed ? new Set(fetch.listed) : undefined;
  state.describeFailed = new Set(fetch.describeFailed);
  state.lastAttempt = at;
  state.durationMs = durationMs;
  if (fetchSucceeded(fetch)) {
    state.found = fetch.clusters.filter(
      (c) =>
        (c.info.status === ENROLLED_STATUS || c.info.status === KEPT_STATUS) &&
        state.scope.matchers.some((m) => m.select.matches(c.info, c.account, c.region)),
    ).length;
  }
  if (fetchSucceeded(fetch)) {
    state.lastSuccess = at;
    state.failures = 0;
  } else state.failures++;
}

/**
 * Forgets what `state`'s fetches found, keeping the counts shown in status: a new leadership term
 * decides only from fetches made in it. A fetch from an earlier term is stale by however long
 * others led meanwhile (clusters they enrolled are missing from it), and a reconcile from it would
 * delete them; with nothing fetched yet the scope's clusters are kept until its first fetch ends.
 */
export function forgetFetch(state: ScopeState): void {
  delete state.last;
  delete state.listed;
  delete state.describeFailed;
  delete state.fingerprint;
}

/** A digest of what a fetch found (not its timing): equal digests mean nothing changed. */
export function fetchDigest(f: ScopeFetch): string {
  const h = createHash("sha1");
  h.update(
    `${f.account ?? ""}\0${f.error ?? ""}\0${f.identityError ?? ""}\0${f.listed?.join(",") ?? "-"}\0${f.describeFailed.join(",")}`,
  );
  for (const c of f.clusters) {
    const i = c.info;
    // JSON, not `k=v` joined: EKS tag keys and values may both hold "=", and {a: "b=c"} must not
    // read as {"a=b": "c"}: an equal digest is "nothing changed", so that change would not be applied.
    h.update(
      `\0${JSON.stringify([i.arn, i.status, i.endpoint ?? "", i.version ?? "", i.createdAt ?? "", i.authenticationMode ?? "", i.tags])}`,
    );
    h.update(i.caData ?? "");
  }
  return h.digest("base64");
}
