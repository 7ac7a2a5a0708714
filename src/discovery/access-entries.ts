// Access bootstrap: the EKS access entry of the gateway's principal on each enrolled cluster —
// owned (tagged kubeport.dev/managed + the discovery group), idempotent, repaired on drift, removed
// when the cluster leaves the matcher (by whichever leader sees it leave, found by its tags); with an
// access policy, or impersonation-only RBAC (least_privilege).
import {
  AssociateAccessPolicyCommand,
  CreateAccessEntryCommand,
  DeleteAccessEntryCommand,
  type EKSClient,
  ListAccessEntriesCommand,
  TagResourceCommand,
  UpdateAccessEntryCommand,
} from "@aws-sdk/client-eks";
import type { AwsMatcherConfig } from "../config/index.ts";
import type { Clock } from "../lib/clock.ts";
import { describeError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { mapLimit } from "../lib/pool.ts";
import { ADMIN_POLICY, clusterPolicies, describeEntry, isNotFound } from "./access-api.ts";
import type { CredentialSet } from "./credentials.ts";
import type { EksClients } from "./eks-fetcher.ts";
import { TAG_GROUP, TAG_MANAGED } from "./labels.ts";
import { bootstrapImpersonation } from "./least-privilege.ts";
import type { FoundCluster } from "./types.ts";

export interface AccessTarget {
  found: FoundCluster;
  matcher: AwsMatcherConfig;
  creds: CredentialSet;
  /** The cluster's resource was created or updated: check it now. */
  changed: boolean;
}

/** One cluster's current access problem: `problem` is the same text for every cluster it hits. */
export interface AccessProblem {
  /** "name (region)". */
  cluster: string;
  problem: string;
}

export interface AccessSummary {
  checked: number;
  created: number;
  updated: number;
  associated: number;
  /** Current problems, one line per cluster (also logged once each). */
  warnings: string[];
  problems?: AccessProblem[];
}

/** A cluster (still in EKS) that this group no longer enrols, and how to reach it. */
export interface Leaver {
  arn: string;
  /** EKS name. */
  name: string;
  region: string;
  creds: CredentialSet;
}

export interface AccessBootstrapper {
  run(targets: readonly AccessTarget[]): Promise<AccessSummary>;
  /**
   * Removes this group's access entries (tagged kubeport.dev/managed and kubeport.dev/discovery-group
   * = the group) from clusters that left the matchers, whoever created them: a new leader, or this
   * one after a restart, finds them by their tags. Resolves the ARNs whose cleanup failed (to retry).
   */
  depart(leavers: readonly Leaver[]): Promise<string[]>;
}

/** EKS matches an assumed-role session by its IAM role: arn:aws:sts::A:assumed-role/R/S → arn:aws:iam::A:role/R. */
export function toPrincipalArn(arn: string): string {
  const m = /^arn:([^:]+):sts::(\d+):assumed-role\/([^/]+)\/.+$/.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : arn;
}

const sameSet = (a: readonly string[], b: readonly string[]) => {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
};

/** Round-robin over (account, region) so the calls in flight spread over regional rate limits. */
function interleaveByRegion(targets: readonly AccessTarget[]): AccessTarget[] {
  const groups = new Map<string, AccessTarget[]>();
  for (const t of targets) {
    const k = `${t.found.account}/${t.found.region}`;
    const g = groups.get(k);
    if (g) g.push(t);
    else groups.set(k, [t]);
  }
  const lists = [...groups.values()];
  const out: AccessTarget[] = [];
  for (let i = 0; out.length < targets.length; i++) for (const l of lists) if (i < l.length) out.push(l[i]!);
  return out;
}

const isDenied = (err: unknown) =>
  ["AccessDeniedException", "AccessDenied"].includes((err as Error)?.name ?? "");

export interface AccessBootstrapperOptions {
  clients: EksClients;
  /** The discovery group: recorded on every entry kubeport creates or adopts. */
  group: string;
  log: Logger;
  clock: Clock;
  concurrency?: number;
  /** Re-verify a confirmed cluster after this much time (the service: 10 poll intervals, at most 1 h). */
  recheckMs?: number;
  /** least_privilege: how long 401/403 from the Kubernetes API are retried after granting access. */
  rbacRetryMs?: number;
}

/** Every principal with an access entry on the cluster (all pages). */
async function entryPrincipals(clients: EksClients, eks: EKSClient, clusterName: string) {
  const out: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await clients.call("eks:ListAccessEntries", () =>
      eks.send(new ListAccessEntriesCommand({ clusterName, ...(nextToken ? { nextToken } : {}) })),
    );
    out.push(...(page.accessEntries ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

/**
 * Creates the bootstrapper. A cluster is checked when it is new or changed, not yet confirmed, or
 * its confirmation is older than `recheckMs`; when right, only read calls are made. An entry kubeport
 * did not create (no kubeport.dev/managed tag) is left as it is with one warning, unless `adopt`.
 * AccessDeniedException: one warning per cluster naming the missing action, repeated only when the
 * problem changes; the cluster stays enrolled.
 */
export function createAccessBootstrapper({
  clients,
  group,
  log,
  clock,
  concurrency = 10,
  recheckMs = 3_600_000,
  rbacRetryMs = 60_000,
}: AccessBootstrapperOptions): AccessBootstrapper {
  const confirmed = new Map<string, number>();
  const warned = new Map<string, string>();
  const problems = new Map<string, AccessProblem>();
  const ownTags = { [TAG_MANAGED]: "true", [TAG_GROUP]: group };
  /** This group's entry: kubeport's, and tagged with this group (or, made before groups were tagged, the empty group's). */
  const isOurs = (tags: Record<string, string> | undefined) =>
    tags?.[TAG_MANAGED] === "true" && (tags[TAG_GROUP] ?? "") === group;

  const problem = (arn: string, cluster: string, text: string, fields: Record<string, unknown>) => {
    const msg = `cannot set up access to cluster ${cluster}: ${text}`;
    problems.set(arn, { cluster, problem: text });
    if (warned.get(arn) === msg) return;
    warned.set(arn, msg);
    log.warn(fields, msg);
  };

  const one = async (t: AccessTarget, summary: AccessSummary) => {
    const { info, region } = t.found;
    const m = t.matcher;
    const key = `${info.arn}|${m.setup_access_for_arn ?? t.creds.key}|${m.kubernetes_groups.join(",")}|${m.access_policy_arn}|${m.access_mode}|${m.adopt}`;
    const seen = confirmed.get(key);
    if (seen !== undefined && !t.changed && clock.now() - seen < recheckMs) return;
    const caller = await t.creds.identity().catch(() => undefined);
    const principal = m.setup_access_for_arn ?? (caller ? toPrincipalArn(caller.arn) : undefined);
    if (!principal) return; // identity failed: the fetch already reported it
    const groups = m.kubernetes_groups;
    const cluster = `${info.name} (${region})`;
    const fields = { cluster: info.name, region, principal };
    if (info.authenticationMode === "CONFIG_MAP") {
      problem(
        info.arn,
        cluster,
        `its authentication mode is CONFIG_MAP, which has no access entries; add to configmap/aws-auth in kube-system under mapRoles: "- rolearn: ${principal}\\n  username: kubeport\\n  groups: [${groups.join(", ")}]", or switch the cluster to API_AND_CONFIG_MAP`,
        fields,
      );
      confirmed.set(key, clock.now());
      return;
    }
    const eks = clients.get(t.creds, region);
    summary.checked++;
    let action = "eks:DescribeAccessEntry";
    const step = async <T>(name: string, fn: () => Promise<T>) => {
      action = name;
      return clients.call(name, fn);
    };
    try {
      let entry = await describeEntry(clients, eks, info.name, principal);
      let created = false;
      let adopted = false;
      if (entry && entry.tags?.[TAG_MANAGED] !== "true") {
        if (!m.adopt) {
          problem(
            info.arn,
            cluster,
            `an access entry for ${principal} exists and was not created by kubeport; left as it is (set adopt: true to let kubeport manage it)`,
            fields,
          );
          confirmed.set(key, clock.now());
          return;
        }
        await step("eks:TagResource", () =>
          eks.send(new TagResourceCommand({ resourceArn: entry!.accessEntryArn, tags: ownTags })),
        );
        adopted = true;
        log.info(fields, "existing access entry adopted (adopt: true)");
      } else if (entry && entry.tags?.[TAG_GROUP] === undefined) {
        // Made before entries named their group: name it, so a later leader finds it when the cluster leaves.
        await step("eks:TagResource", () =>
          eks.send(
            new TagResourceCommand({ resourceArn: entry!.accessEntryArn, tags: { [TAG_GROUP]: group } }),
          ),
        );
      }
      if (!entry) {
        entry = (
          await step("eks:CreateAccessEntry", () =>
            eks.send(
              new CreateAccessEntryCommand({
                clusterName: info.name,
                principalArn: principal,
                kubernetesGroups: groups,
                tags: ownTags,
              }),
            ),
          )
        ).accessEntry;
        created = true;
        summary.created++;
        log.info({ ...fields, groups }, "access entry created");
      } else if (!sameSet(entry.kubernetesGroups ?? [], groups)) {
        await step("eks:UpdateAccessEntry", () =>
          eks.send(
            new UpdateAccessEntryCommand({
              clusterName: info.name,
              principalArn: principal,
              kubernetesGroups: groups,
            }),
          ),
        );
        summary.updated++;
        log.info({ ...fields, groups }, "access entry groups repaired");
      }
      const policies = created
        ? []
        : await step("eks:ListAssociatedAccessPolicies", () =>
            clusterPolicies(clients, eks, info.name, principal),
          );
      if (m.access_mode === "least_privilege") {
        // Teleport's rule: an entry already mapped to the groups needs nothing more; a leftover
        // admin association (an interrupted bootstrap, or the access_policy mode before) is redone.
        const leftovers = policies.filter((p) => p === ADMIN_POLICY || p === m.access_policy_arn);
        if (created || adopted || !sameSet(entry?.kubernetesGroups ?? [], groups) || leftovers.length > 0) {
          await bootstrapImpersonation({
            ownTags,
            clients,
            eks,
            creds: t.creds,
            found: t.found,
            groups,
            bootstrapper: caller ? toPrincipalArn(caller.arn) : principal,
            target: principal,
            remove: [ADMIN_POLICY, m.access_policy_arn].filter((p) => p !== ""),
            retryMs: rbacRetryMs,
            log,
            onAction: (a) => {
              action = a;
            },
          });
          summary.associated++;
        }
      } else if (m.access_policy_arn && !policies.includes(m.access_policy_arn)) {
        await step("eks:AssociateAccessPolicy", () =>
          eks.send(
            new AssociateAccessPolicyCommand({
              clusterName: info.name,
              principalArn: principal,
              policyArn: m.access_policy_arn,
              accessScope: { type: "cluster" },
            }),
          ),
        );
        summary.associated++;
        log.info({ ...fields, policy: m.access_policy_arn }, "access policy associated");
      }
      confirmed.set(key, clock.now());
      problems.delete(info.arn);
      if (warned.delete(info.arn))
        log.info({ cluster: info.name, region }, `access to cluster ${cluster} is set up now`);
    } catch (err) {
      const text = isDenied(err)
        ? `missing ${action} for ${caller?.arn ?? "the discovery credentials"}; grant it or create the access entry for ${principal} (groups ${groups.join(", ")}) yourself`
        : `${action} failed: ${describeError(err)}`;
      problem(info.arn, cluster, text, { ...fields, action });
      // Denied: do not hammer every poll; re-check with the usual cadence (or when the cluster changes).
      if (isDenied(err)) confirmed.set(key, clock.now());
    }
  };

  return {
    async run(targets) {
      const summary: AccessSummary = { checked: 0, created: 0, updated: 0, associated: 0, warnings: [] };
      const todo = interleaveByRegion(
        targets.filter((t) => t.matcher.setup_access && t.found.info.authenticationMode !== undefined),
      );
      await mapLimit(todo, concurrency, (t) => one(t, summary));
      // Forget clusters that are no longer enrolled, so the caches stay the size of the fleet.
      const live = new Set(targets.map((t) => t.found.info.arn));
      for (const key of confirmed.keys())
        if (!live.has(key.slice(0, key.indexOf("|")))) confirmed.delete(key);
      for (const arn of [...warned.keys()]) if (!live.has(arn)) warned.delete(arn);
      for (const arn of [...problems.keys()]) if (!live.has(arn)) problems.delete(arn);
      summary.warnings = [...warned.values()].sort();
      summary.problems = [...problems.values()].sort((a, b) => a.cluster.localeCompare(b.cluster));
      return summary;
    },
    async depart(leavers) {
      const failed: string[] = [];
      await mapLimit(leavers, concurrency, async (l) => {
        const eks = clients.get(l.creds, l.region);
        const fields = { cluster: l.name, region: l.region };
        try {
          for (const principal of await entryPrincipals(clients, eks, l.name)) {
            const entry = await describeEntry(clients, eks, l.name, principal);
            if (!isOurs(entry?.tags)) continue;
            try {
              await clients.call("eks:DeleteAccessEntry", () =>
                eks.send(new DeleteAccessEntryCommand({ clusterName: l.name, principalArn: principal })),
              );
            } catch (err) {
              if (isNotFound(err)) continue; // removed meanwhile
              throw err;
            }
            log.info(
              { ...fields, principal },
              "the cluster left the matchers: kubeport's access entry removed",
            );
          }
        } catch (err) {
          if (isNotFound(err)) return; // the cluster (or the entry) is gone already
          failed.push(l.arn);
          log.warn(
            { ...fields, err: describeError(err) },
            "could not remove kubeport's access entry from a cluster that left the matchers; retrying at the next reconcile",
          );
        }
      });
      return failed;
    },
  };
}
