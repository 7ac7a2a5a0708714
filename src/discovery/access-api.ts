// EKS access-entry reads shared by the access bootstrap and least-privilege setup.
import {
  DescribeAccessEntryCommand,
  type EKSClient,
  ListAssociatedAccessPoliciesCommand,
} from "@aws-sdk/client-eks";
import type { EksClients } from "./eks-fetcher.ts";

export const ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

export const isNotFound = (err: unknown) => (err as Error)?.name === "ResourceNotFoundException";

/** An access entry as DescribeAccessEntry reports it, or undefined when there is none. */
export async function describeEntry(
  clients: EksClients,
  eks: EKSClient,
  clusterName: string,
  principalArn: string,
) {
  try {
    const out = await clients.call("eks:DescribeAccessEntry", () =>
      eks.send(new DescribeAccessEntryCommand({ clusterName, principalArn })),
    );
    return out.accessEntry;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Policy ARNs associated at cluster scope with an entry (all pages). */
export async function clusterPolicies(
  clients: EksClients,
  eks: EKSClient,
  clusterName: string,
  principalArn: string,
) {
  const out: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await clients.call("eks:ListAssociatedAccessPolicies", () =>
      eks.send(
        new ListAssociatedAccessPoliciesCommand({
          clusterName,
          principalArn,
          ...(nextToken ? { nextToken } : {}),
        }),
      ),
    );
    for (const p of page.associatedAccessPolicies ?? [])
      if (p.policyArn && p.accessScope?.type === "cluster") out.push(p.policyArn);
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}
