// The Redis backend over TLS (storage.tls, rediss://) on standalone, Cluster and Sentinel, and
// Sentinel's own password (storage.sentinel_password); TLS-only servers, so nothing falls back to plain.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { parseConfig } from "../../src/config/index.ts";
import { kubeCluster, recordWatch, uniqueName, waitFor } from "../../src/registry/conformance.ts";
import { createBackend, openRedisBackend, type RedisBackendOptions } from "../../src/registry/index.ts";
import {
  makeRedisTlsFiles,
  type RedisTlsFiles,
  startRedisCluster,
  startRedisSentinel,
  startRedisStandalone,
} from "../helpers/redis.ts";

const dir = mkdtempSync(join(tmpdir(), "kp-redis-tls-"));
let tls: RedisTlsFiles;
beforeAll(async () => {
  tls = await makeRedisTlsFiles(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two backends on `conn`: put on one → get, list and a watch event on the other; both closed after. */
async function roundTrip(conn: RedisBackendOptions): Promise<void> {
  const a = openRedisBackend(conn);
  const b = openRedisBackend(conn);
  try {
    const rec = recordWatch(b, ["kube_cluster"]);
    await waitFor(() => rec.events.length > 0, 10_000, "watch init");
    const n = uniqueName("tls");
    const stored = await a.put(kubeCluster(n));
    expect((await b.get("kube_cluster", n))?.metadata.revision).toBe(stored.metadata.revision!);
    expect((await b.list("kube_cluster", { prefix: n })).map((c) => c.metadata.name)).toEqual([n]);
    await waitFor(
      () => rec.events.some((e) => e.type === "put" && e.resource.metadata.name === n),
      2000,
      "put event",
    );
    rec.watcher.close();
  } finally {
    await a.close();
    await b.close();
  }
}

/** The storage section a config file with these redis keys yields (parsed as `start` parses it). */
const storageOf = (keys: Record<string, unknown>) =>
  parseConfig(
    `version: v1\nkubeport:\n  data_dir: ${dir}\n  storage: ${JSON.stringify({ type: "redis", ...keys })}\n`,
    "t.yaml",
    { env: {} },
  ).kubeport.storage;

/** The log lines createBackend writes while it waits, for asserting on the reason it gives. */
function capturingLog() {
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => void lines.push(l) });
  return { log, text: () => lines.join("") };
}

/** Starts createBackend, gives it `ms` to connect, then aborts: what it logged meanwhile. */
async function refusedFor(storage: Record<string, unknown>, ms = 2500): Promise<string> {
  const { log, text } = capturingLog();
  const stop = new AbortController();
  const opening = createBackend(storageOf(storage), { log, signal: stop.signal });
  setTimeout(() => stop.abort(new Error("gave up")), ms);
  const backend = await opening.catch(() => undefined);
  await backend?.close();
  expect(backend).toBeUndefined();
  return text();
}

describe("standalone over TLS", () => {
  let redis: Awaited<ReturnType<typeof startRedisStandalone>>;
  let mtls: Awaited<ReturnType<typeof startRedisStandalone>>;
  beforeAll(async () => {
    redis = await startRedisStandalone({ tls });
    mtls = await startRedisStandalone({ tls, clientCerts: "yes" });
  }, 60_000);
  afterAll(async () => {
    await redis?.stop();
    await mtls?.stop();
  });

  test("rediss:// with tls.ca_file: put, get, list and watch", async () => {
    expect(redis.url.startsWith("rediss://")).toBe(true);
    await roundTrip(storageOf({ url: redis.url, tls: { ca_file: tls.ca } }));
  });

  test("a server certificate the CAs do not vouch for is refused, and the log says why", async () => {
    // No ca_file: the system CAs, which never signed this test CA.
    const logged = await refusedFor({ url: redis.url });
    expect(logged).toContain("waiting for redis");
    expect(logged).toMatch(/certificate/i);
  }, 60_000);

  test("a server_name the certificate does not carry is refused", async () => {
    const logged = await refusedFor({
      url: redis.url,
      tls: { ca_file: tls.ca, server_name: "elsewhere.example" },
    });
    expect(logged).toMatch(/elsewhere\.example|altname|hostname/i);
  }, 60_000);

  test("tls-auth-clients yes: refused without a client certificate, served with cert_file + key_file", async () => {
    const logged = await refusedFor({ url: mtls.url, tls: { ca_file: tls.ca } });
    expect(logged).toContain("waiting for redis");
    await roundTrip(
      storageOf({ url: mtls.url, tls: { ca_file: tls.ca, cert_file: tls.cert, key_file: tls.key } }),
    );
  }, 60_000);

  test("a bad tls file is an error naming its config key, the file and the problem in words", async () => {
    const { log } = capturingLog();
    const garbage = join(dir, "garbage.pem");
    await Bun.write(garbage, "not a certificate\n");
    const other = join(dir, "other-key.pem");
    await Bun.write(
      other,
      generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }),
    );
    const cases: [Record<string, string>, string][] = [
      [
        { ca_file: join(dir, "nope.pem") },
        `kubeport.storage.tls.ca_file: ${join(dir, "nope.pem")} cannot be read: no such file`,
      ],
      [{ ca_file: garbage }, `kubeport.storage.tls.ca_file: ${garbage} is not a PEM CA bundle`],
      [
        { cert_file: garbage, key_file: tls.key },
        `kubeport.storage.tls.cert_file: ${garbage} is not a PEM certificate`,
      ],
      [
        { cert_file: tls.cert, key_file: other },
        `kubeport.storage.tls.key_file: ${other} does not match the certificate in ${tls.cert} (kubeport.storage.tls.cert_file)`,
      ],
    ];
    for (const [files, message] of cases) {
      await expect(
        createBackend(
          { type: "redis", path: "", key_prefix: "kubeport", url: redis.url, tls: files },
          { log },
        ),
      ).rejects.toThrow(message);
    }
  });
});

describe("Cluster over TLS", () => {
  let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
  beforeAll(async () => {
    cluster = await startRedisCluster({ primaries: 3, tls });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  test("cluster_nodes with tls: put, get, list and watch", async () => {
    await roundTrip(
      storageOf({
        cluster_nodes: cluster.nodes,
        tls: { ca_file: tls.ca },
        key_prefix: "ctls",
        replica_acks: 0,
      }),
    );
  }, 60_000);
});

describe("Cluster over TLS announcing host names, certificates without IPs (ElastiCache's shape)", () => {
  let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
  let hostOnly: RedisTlsFiles;
  beforeAll(async () => {
    hostOnly = await makeRedisTlsFiles(dir, { hostOnly: true });
    cluster = await startRedisCluster({ primaries: 3, tls: hostOnly, announceHostname: "localhost" });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  test("seeds by host name: kubeport dials the names, so certificates issued for them verify", async () => {
    const seeds = cluster.members.map((m) => `localhost:${m.port}`);
    await roundTrip(
      storageOf({ cluster_nodes: seeds, tls: { ca_file: hostOnly.ca }, key_prefix: "htls", replica_acks: 0 }),
    );
  }, 60_000);
});

describe("Sentinel over TLS with a sentinel password", () => {
  let sentinel: Awaited<ReturnType<typeof startRedisSentinel>>;
  beforeAll(async () => {
    sentinel = await startRedisSentinel({
      replicas: 1,
      sentinels: 3,
      tls,
      sentinelPassword: "sentinel-secret",
    });
  }, 60_000);
  afterAll(async () => {
    await sentinel?.stop();
  });

  const conn = (extra: Record<string, unknown> = {}) => ({
    sentinels: sentinel.sentinels,
    name: sentinel.name,
    tls: { ca_file: tls.ca },
    key_prefix: "stls",
    ...extra,
  });

  test("sentinels + tls + sentinel_password: put, get, list and watch on the master", async () => {
    await roundTrip(storageOf(conn({ sentinel_password: "sentinel-secret" })));
  }, 60_000);

  test("without the sentinel password no master is found, and the log says the sentinels want AUTH", async () => {
    const logged = await refusedFor(conn());
    expect(logged).toContain("NOAUTH");
  }, 60_000);
});
