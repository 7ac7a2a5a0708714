// Test harness: the AWS simulator over HTTP, a SQLite registry that counts writes, and configs.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Registry } from "prom-client";
import { parseConfig } from "../../src/config/index.ts";
import type { AwsMatcherConfig, Config } from "../../src/config/types.ts";
import {
  createDiscoveryService,
  type DiscoveryService,
  type DiscoveryServiceOptions,
} from "../../src/discovery/index.ts";
import type { Clock } from "../../src/lib/clock.ts";
import { type Logger, silentLogger } from "../../src/lib/log.ts";
import { type Backend, type Kind, openSqliteBackend, type Resource } from "../../src/registry/index.ts";
import { type AwsSim, type AwsSimOptions, startAwsSim } from "../../src/sim/aws/index.ts";

export interface WriteLog {
  op: "put" | "create" | "cas" | "delete";
  kind: Kind;
  name: string;
  /** The fencing token the write carried, if any. */
  fence?: number;
}

/** Wraps a backend, recording every write (the registry's own behaviour is untouched). */
export function countingBackend(inner: Backend): Backend & { writes: WriteLog[] } {
  const writes: WriteLog[] = [];
  const rec = (op: WriteLog["op"], kind: Kind, name: string, o?: { fence?: { token: number } }) =>
    writes.push({ op, kind, name, ...(o?.fence ? { fence: o.fence.token } : {}) });
  return Object.assign(Object.create(inner) as Backend, {
    name: inner.name,
    writes,
    put: (r: Resource, o?: Parameters<Backend["put"]>[1]) => {
      rec("put", r.kind, r.metadata.name, o);
      return inner.put(r, o);
    },
    create: (r: Resource, o?: Parameters<Backend["create"]>[1]) => {
      rec("create", r.kind, r.metadata.name, o);
      return inner.create(r, o);
    },
    compareAndSwap: (r: Resource, o?: Parameters<Backend["compareAndSwap"]>[1]) => {
      rec("cas", r.kind, r.metadata.name, o);
      return inner.compareAndSwap(r, o);
    },
    delete: (k: Kind, n: string, o?: Parameters<Backend["delete"]>[2]) => {
      rec("delete", k, n, o);
      return inner.delete(k, n, o);
    },
    get: inner.get.bind(inner),
    list: inner.list.bind(inner),
    watch: inner.watch.bind(inner),
    acquireLock: inner.acquireLock.bind(inner),
    renewLock: inner.renewLock.bind(inner),
    releaseLock: inner.releaseLock.bind(inner),
    append: inner.append.bind(inner),
    readStream: inner.readStream.bind(inner),
    ping: inner.ping.bind(inner),
    close: inner.close.bind(inner),
  });
}

export type MatcherSeed = Partial<AwsMatcherConfig>;

/** A validated config (through the real parser) with the given discovery settings. */
export function makeConfig({
  group = "",
  matchers = [{}],
  pollInterval = "5m",
  lockTtl = "15s",
}: {
  group?: string;
  matchers?: MatcherSeed[];
  pollInterval?: string;
  lockTtl?: string;
} = {}): Config {
  const cfg = parseConfig(
    JSON.stringify({
      version: "v1",
      kubeport: { data_dir: "/tmp/kubeport-unused", lock_ttl: lockTtl },
      discovery_service: {
        enabled: true,
        discovery_group: group,
        poll_interval: pollInterval,
        aws: matchers.map((m) => ({ types: ["eks"], regions: ["us-east-1"], ...m })),
      },
    }),
    "test",
  );
  return cfg;
}

const AWS_ENV_KEYS = [
  "AWS_PROFILE",
  "AWS_SESSION_TOKEN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_ARN",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
];

/** Points the AWS SDK at the simulator through the standard settings only. */
export function useSimEnv(sim: AwsSim): void {
  for (const k of AWS_ENV_KEYS) delete process.env[k];
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  Object.assign(process.env, sim.env);
}

export interface Harness {
  sim: AwsSim;
  dir: string;
  backend: Backend & { writes: WriteLog[] };
  service(opts?: {
    config?: Config;
    holder?: string;
    backend?: Backend;
    log?: Logger;
    metrics?: Registry;
    clock?: Clock;
    awsCredentials?: DiscoveryServiceOptions["awsCredentials"];
  }): DiscoveryService;
  clusters(): Promise<Resource[]>;
  close(): Promise<void>;
}

/** Starts a simulator and an empty SQLite registry; services made by `service()` are stopped on close. */
export async function startHarness(sim: AwsSimOptions = {}, config: Config = makeConfig()): Promise<Harness> {
  const aws = await startAwsSim(sim);
  useSimEnv(aws);
  const dir = mkdtempSync(join(tmpdir(), "kubeport-disc-"));
  const backend = countingBackend(openSqliteBackend({ path: join(dir, "registry.db") }));
  const services: DiscoveryService[] = [];
  return {
    sim: aws,
    dir,
    backend,
    service({
      config: c = config,
      holder = "test-1",
      backend: b = backend,
      log = silentLogger,
      metrics,
      clock,
      awsCredentials,
    } = {}) {
      const s = createDiscoveryService({
        config: c,
        backend: b,
        log,
        holder,
        ...(metrics ? { metrics } : {}),
        ...(clock ? { clock } : {}),
        ...(awsCredentials ? { awsCredentials } : {}),
      });
      services.push(s);
      return s;
    },
    clusters: async () =>
      (await backend.list("kube_cluster")).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)),
    async close() {
      for (const s of services) await s.stop();
      await backend.close();
      await aws.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const names = (rs: readonly Resource[]) => rs.map((r) => r.metadata.name).sort();
