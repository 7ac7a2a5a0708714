// Access bootstrap: an EKS access entry (groups + access policy) for the gateway's principal on
// each enrolled cluster; idempotent, repairs drift, one clear warning per missing permission.
import {
  AssociateAccessPolicyCommand,
  CreateAccessEntryCommand,
  DescribeAccessEntryCommand,
  ListAssociatedAccessPoliciesCommand,
  UpdateAccessEntryCommand,
} from "@aws-sdk/client-eks";
import type { AwsMatcherConfig } from "../config/index.ts";
import type { Clock } from "../lib/clock.ts";
import { describeError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { mapLimit } from "../lib/pool.ts";
import type { CredentialSet } from "./credentials.ts";
import type { EksClients } from "./eks-fetcher.ts";
import type { FoundCluster } from "./types.ts";

export interface AccessTarget {
  found: FoundCluster;
  matcher: AwsMatcherConfig;
  creds: CredentialSet;
  /** The cluster's resource was created or updated this poll: check it now. */
  changed: boolean;
}

export interface AccessSummary {
  checked: number;
  created: number;
  updated: number;
  associated: number;
  /** Current problems, one line per cluster (also logged once each). */
  warnings: string[];
}

export interface AccessBootstrapper {
  run(targets: readonly AccessTarget[]): Promise<AccessSummary>;
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

interface Confirmed {
  at: number;
}

export interface AccessBootstrapperOptions {
  clients: EksClients;
  log: Logger;
  clock: Clock;
  concurrency?: number;
  /** Re-verify a confirmed cluster after this much time (the service: 10 poll intervals, at most 1 h). */
  recheckMs?: number;
}

/**
 * Creates the bootstrapper. A cluster is checked when it is new or changed, not yet confirmed,
 * or its confirmation is older than `recheckMs`. When the entry, its
 * groups and its policy are right, only read calls are made (DescribeAccessEntry,
 * ListAssociatedAccessPolicies). AccessDeniedException: one warning per cluster and action,
 * repeated only when the problem changes; the cluster stays enrolled.
 */
export function createAccessBootstrapper({
  clients,
  log,
  clock,
  concurrency = 10,
  recheckMs = 3_600_000,
}: AccessBootstrapperOptions): AccessBootstrapper {
  const confirmed = new Map<string, Confirmed>();
  const warned = new Map<string, string>();

  const warnOnce = (clusterArn: string, message: string, fields: Record<string, unknown>) => {
    if (warned.get(clusterArn) === message) return;
    warned.set(clusterArn, message);
    log.warn(fields, message);
  };

  const one = async (t: AccessTarget, summary: AccessSummary) => {
    const { info, region } = t.found;
    const cacheKeyBase = `${info.arn}|${t.matcher.setup_access_for_arn ?? t.creds.key}|${t.matcher.kubernetes_groups.join(",")}|${t.matcher.access_policy_arn}`;
    const seen = confirmed.get(cacheKeyBase);
    if (seen && !t.changed && clock.now() - seen.at < recheckMs) {
      const w = warned.get(info.arn);
      if (w) summary.warnings.push(w);
      return;
    }
    const caller = await t.creds.identity().catch(() => undefined);
    const principal = t.matcher.setup_access_for_arn ?? (caller ? toPrincipalArn(caller.arn) : undefined);
    if (!principal) return; // identity failed: the fetch already reported it
    const groups = t.matcher.kubernetes_groups;
    const where = `cluster ${info.name} (${region})`;
    if (info.authenticationMode === "CONFIG_MAP") {
      const msg =
        `cannot set up access to ${where}: its authentication mode is CONFIG_MAP, which has no access entries; ` +
        `add to configmap/aws-auth in kube-system under mapRoles: "- rolearn: ${principal}\\n  username: kubeport\\n  groups: [${groups.join(", ")}]", ` +
        `or switch the cluster to API_AND_CONFIG_MAP`;
      warnOnce(info.arn, msg, { cluster: info.name, region, principal });
      summary.warnings.push(msg);
      confirmed.set(cacheKeyBase, { at: clock.now() });
      return;
    }
    const eks = clients.get(t.creds, region);
    summary.checked++;
    let action = "eks:DescribeAccessEntry";
    try {
      let created = false;
      try {
        const cur = await clients.call(action, () =>
          eks.send(new DescribeAccessEntryCommand({ clusterName: info.name, principalArn: principal })),
        );
        if (!sameSet(cur.accessEntry?.kubernetesGroups ?? [], groups)) {
          action = "eks:UpdateAccessEntry";
          await clients.call(action, () =>
            eks.send(
              new UpdateAccessEntryCommand({
                clusterName: info.name,
                principalArn: principal,
                kubernetesGroups: groups,
              }),
            ),
          );
          summary.updated++;
          log.info({ cluster: info.name, region, principal, groups }, "access entry groups repaired");
        }
      } catch (err) {
        if ((err as Error)?.name !== "ResourceNotFoundException") throw err;
        action = "eks:CreateAccessEntry";
        await clients.call(action, () =>
          eks.send(
            new CreateAccessEntryCommand({
              clusterName: info.name,
              principalArn: principal,
              kubernetesGroups: groups,
              tags: { "kubeport.dev/managed": "true" },
            }),
          ),
        );
        created = true;
        summary.created++;
        log.info({ cluster: info.name, region, principal, groups }, "access entry created");
      }
      const policy = t.matcher.access_policy_arn;
      if (policy) {
        let present = false;
        if (!created) {
          action = "eks:ListAssociatedAccessPolicies";
          let nextToken: string | undefined;
          do {
            const page = await clients.call(action, () =>
              eks.send(
                new ListAssociatedAccessPoliciesCommand({
                  clusterName: info.name,
                  principalArn: principal,
                  ...(nextToken ? { nextToken } : {}),
                }),
              ),
            );
            present ||= (page.associatedAccessPolicies ?? []).some(
              (p) => p.policyArn === policy && p.accessScope?.type === "cluster",
            );
            nextToken = page.nextToken;
          } while (nextToken && !present);
        }
        if (!present) {
          action = "eks:AssociateAccessPolicy";
          await clients.call(action, () =>
            eks.send(
              new AssociateAccessPolicyCommand({
                clusterName: info.name,
                principalArn: principal,
                policyArn: policy,
                accessScope: { type: "cluster" },
              }),
            ),
          );
          summary.associated++;
          log.info({ cluster: info.name, region, principal, policy }, "access policy associated");
        }
      }
      confirmed.set(cacheKeyBase, { at: clock.now() });
      if (warned.delete(info.arn))
        log.info({ cluster: info.name, region }, `access to ${where} is set up now`);
    } catch (err) {
      const name = (err as Error)?.name;
      const msg =
        name === "AccessDeniedException" || name === "AccessDenied"
          ? `cannot set up access to ${where}: missing ${action} for ${caller?.arn ?? "the discovery credentials"}; grant it or create the access entry for ${principal} (groups ${groups.join(", ")}) yourself`
          : `cannot set up access to ${where}: ${action} failed: ${describeError(err)}`;
      warnOnce(info.arn, msg, { cluster: info.name, region, principal, action });
      summary.warnings.push(msg);
      // Denied: do not hammer every poll; re-check with the usual cadence (or when the cluster changes).
      if (name === "AccessDeniedException" || name === "AccessDenied")
        confirmed.set(cacheKeyBase, { at: clock.now() });
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
      for (const arn of warned.keys()) if (!live.has(arn)) warned.delete(arn);
      return summary;
    },
  };
}
