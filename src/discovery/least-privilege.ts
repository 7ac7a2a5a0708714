// least_privilege access, as Teleport sets it up: a short-lived cluster-admin association for the
// discovery identity, an impersonation-only ClusterRole bound to the gateway's groups through the
// Kubernetes API, then the admin association removed. The gateway's entry maps to the groups only.
import {
  AssociateAccessPolicyCommand,
  CreateAccessEntryCommand,
  DeleteAccessEntryCommand,
  DisassociateAccessPolicyCommand,
  type EKSClient,
} from "@aws-sdk/client-eks";
import { makeEksToken } from "../lib/eks-token.ts";
import { describeError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { ADMIN_POLICY, clusterPolicies, describeEntry } from "./access-api.ts";
import type { CredentialSet } from "./credentials.ts";
import type { EksClients } from "./eks-fetcher.ts";
import { applyImpersonatorRbac } from "./kube-rbac.ts";
import type { FoundCluster } from "./types.ts";

export interface BootstrapOptions {
  /** The tags marking an entry as this discovery group's (kubeport.dev/managed, discovery-group). */
  ownTags: Record<string, string>;
  clients: EksClients;
  eks: EKSClient;
  creds: CredentialSet;
  found: FoundCluster;
  groups: readonly string[];
  /** The discovery identity's IAM principal (it talks to the Kubernetes API). */
  bootstrapper: string;
  /** The gateway's principal, whose entry (already made, mapped to `groups`) must end without `remove`. */
  target: string;
  /** Policies to take off the target's entry at the end (the admin policy, the configured one). */
  remove: readonly string[];
  retryMs: number;
  log: Logger;
  /** The IAM action about to be called (for "missing eks:…" warnings). */
  onAction(action: string): void;
}

/**
 * Grants `bootstrapper` cluster admin for as long as it takes to apply the impersonator
 * ClusterRole/Binding, then takes it away again — whatever happens in between: an entry it created
 * is deleted, an association it added is removed. Finally any admin association left on the
 * target's entry is removed, so the gateway holds impersonation only.
 */
export async function bootstrapImpersonation(o: BootstrapOptions): Promise<void> {
  const { clients, eks, found, bootstrapper, target } = o;
  const clusterName = found.info.name;
  const call = <T>(action: string, fn: () => Promise<T>) => {
    o.onAction(action);
    return clients.call(action, fn);
  };
  const undo: { what: string; run: () => Promise<unknown> }[] = [];
  try {
    o.onAction("eks:DescribeAccessEntry");
    const entry = await describeEntry(clients, eks, clusterName, bootstrapper);
    if (!entry) {
      await call("eks:CreateAccessEntry", () =>
        eks.send(
          new CreateAccessEntryCommand({
            clusterName,
            principalArn: bootstrapper,
            tags: { ...o.ownTags, "kubeport.dev/temporary": "true" },
          }),
        ),
      );
      undo.push({
        what: "eks:DeleteAccessEntry",
        run: () => eks.send(new DeleteAccessEntryCommand({ clusterName, principalArn: bootstrapper })),
      });
    }
    const has = entry
      ? await call("eks:ListAssociatedAccessPolicies", () =>
          clusterPolicies(clients, eks, clusterName, bootstrapper),
        )
      : [];
    if (!has.includes(ADMIN_POLICY)) {
      await call("eks:AssociateAccessPolicy", () =>
        eks.send(
          new AssociateAccessPolicyCommand({
            clusterName,
            principalArn: bootstrapper,
            policyArn: ADMIN_POLICY,
            accessScope: { type: "cluster" },
          }),
        ),
      );
      // A created entry goes entirely; an existing one only loses what was added.
      if (entry)
        undo.push({
          what: "eks:DisassociateAccessPolicy",
          run: () =>
            eks.send(
              new DisassociateAccessPolicyCommand({
                clusterName,
                principalArn: bootstrapper,
                policyArn: ADMIN_POLICY,
              }),
            ),
        });
    }
    if (!found.info.endpoint) throw new Error("the cluster has no endpoint yet");
    o.onAction("the Kubernetes API (ClusterRole/ClusterRoleBinding kubeport-impersonator)");
    await applyImpersonatorRbac({
      endpoint: found.info.endpoint,
      ...(found.info.caData ? { caData: found.info.caData } : {}),
      groups: o.groups,
      retryMs: o.retryMs,
      token: () =>
        makeEksToken({
          region: found.region,
          clusterName,
          credentials: o.creds.provider,
          ...(process.env.AWS_ENDPOINT_URL_STS ? { stsEndpoint: process.env.AWS_ENDPOINT_URL_STS } : {}),
        }),
    });
    o.log.info(
      { cluster: clusterName, region: found.region, groups: o.groups },
      "impersonation-only RBAC applied",
    );
  } finally {
    for (const u of undo.reverse()) {
      try {
        await clients.call(u.what, u.run);
      } catch (err) {
        o.log.warn(
          { cluster: clusterName, region: found.region, principal: bootstrapper, err: describeError(err) },
          `could not take the temporary cluster-admin access back (${u.what}); remove it by hand`,
        );
      }
    }
  }
  // The target holds impersonation only: admin (or the access_policy mode's policy) goes.
  o.onAction("eks:ListAssociatedAccessPolicies");
  for (const policyArn of await clusterPolicies(clients, eks, clusterName, target)) {
    if (!o.remove.includes(policyArn)) continue;
    await call("eks:DisassociateAccessPolicy", () =>
      eks.send(new DisassociateAccessPolicyCommand({ clusterName, principalArn: target, policyArn })),
    );
  }
}
