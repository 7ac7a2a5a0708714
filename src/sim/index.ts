// startSimulation: the AWS simulator plus one simulated Kubernetes API server per EKS cluster (test/demo only).
import type { Logger } from "../lib/log.ts";
import {
  type AwsSim,
  type AwsSimOptions,
  type SimCluster,
  type SimClusterSeed,
  startAwsSim,
} from "./aws/index.ts";
import { type KubeSim, startKubeSim } from "./kube/index.ts";

export * from "./aws/index.ts";
export {
  type AddPodOptions,
  type ExecRecord,
  type KubeObject,
  type KubeSim,
  type KubeSimOptions,
  type RecordedRequest,
  startKubeSim,
} from "./kube/index.ts";

export interface SimulationOptions {
  clusters: SimClusterSeed[];
  /** Pods `web-0` … `web-(n-1)` in namespace default of every cluster; default 3. */
  podsPerCluster?: number;
  aws?: Partial<AwsSimOptions>;
  /** gitVersion every simulated API server reports; default v1.32.4. */
  gitVersion?: string;
  log?: Logger;
}

export interface Simulation {
  aws: AwsSim;
  /** cluster ARN → its API server; clusters added later through `aws.state.addCluster` appear here too. */
  kube: Map<string, KubeSim>;
  close(): Promise<void>;
}

/**
 * Starts the AWS simulator, then creates every cluster with a live Kubernetes API server
 * (its own CA, EKS token authentication against the simulator's STS and access entries).
 */
export async function startSimulation(opts: SimulationOptions): Promise<Simulation> {
  const kube = new Map<string, KubeSim>();
  const pods = opts.podsPerCluster ?? 3;
  let aws: AwsSim | undefined;
  const kubeApi = async (c: SimCluster) => {
    if (!aws) throw new Error("simulated clusters are created after the AWS simulator is listening");
    const state = aws.state;
    const sim = await startKubeSim({
      clusterName: c.name,
      clusterArn: c.arn,
      awsUrl: aws.url,
      accessEntryFor: (arn, principal) => state.accessEntryFor(arn, principal),
      gitVersion: opts.gitVersion ?? (c.version ? `v${c.version}.4` : undefined),
      ...(opts.log ? { log: opts.log } : {}),
    });
    for (let i = 0; i < pods; i++) sim.addPod("default", `web-${i}`);
    kube.set(c.arn, sim);
    return { endpoint: sim.endpoint, caData: sim.caData };
  };
  const seeds = [...(opts.aws?.clusters ?? []), ...opts.clusters];
  aws = await startAwsSim({ ...opts.aws, clusters: [], kubeApi });
  const close = async () => {
    await Promise.allSettled([...kube.values()].map((k) => k.close()));
    await aws?.close();
  };
  try {
    for (const seed of seeds) await aws.state.addCluster(seed);
  } catch (err) {
    await close();
    throw err;
  }
  return { aws, kube, close };
}
