// AWS simulator control surfaces: /_sim/ over HTTP, YAML seed files, the kubeApi hook, the CLI, and scale.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DescribeClusterCommand,
  EKSClient,
  ListClustersCommand,
  paginateListClusters,
  ThrottlingException,
} from "@aws-sdk/client-eks";
import { type AwsSim, EKS_REGIONS, loadSeedFile, parseSeed, startAwsSim } from "../../src/sim/aws/index.ts";
import { readUntil } from "../helpers/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "aws-sim-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const client = (sim: AwsSim, region = "us-east-1") =>
  new EKSClient({
    region,
    endpoint: sim.url,
    credentials: {
      accessKeyId: sim.env.AWS_ACCESS_KEY_ID as string,
      secretAccessKey: sim.env.AWS_SECRET_ACCESS_KEY as string,
    },
    maxAttempts: 1,
  });

describe("/_sim/ HTTP control", () => {
  let sim: AwsSim;
  beforeAll(async () => {
    sim = await startAwsSim();
  });
  afterAll(() => sim.close());
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${sim.url}/_sim/${path}`, {
      method,
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } }
        : {}),
    });

  test("creates, retags, changes status of and deletes clusters seen through EKS", async () => {
    const created = await call("POST", "clusters", {
      name: "web",
      region: "eu-west-1",
      tags: { env: "dev" },
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({
      arn: "arn:aws:eks:eu-west-1:111111111111:cluster/web",
      status: "ACTIVE",
    });
    expect((await call("POST", "clusters", { name: "web", region: "eu-west-1" })).status).toBe(400);

    const patched = await call("PATCH", "clusters/111111111111/eu-west-1/web", {
      tags: { team: "x" },
      removeTags: ["env"],
      status: "UPDATING",
    });
    expect(await patched.json()).toMatchObject({ tags: { team: "x" }, status: "UPDATING" });
    const { cluster } = await client(sim, "eu-west-1").send(new DescribeClusterCommand({ name: "web" }));
    expect([cluster?.status, cluster?.tags]).toEqual(["UPDATING", { team: "x" }]);
    expect((await call("PATCH", "clusters/111111111111/eu-west-1/web", { status: "BOGUS" })).status).toBe(
      400,
    );

    const entry = await call(
      "GET",
      `access-entry?clusterArn=${encodeURIComponent(cluster?.arn ?? "")}&principalArn=${encodeURIComponent("arn:aws:iam::111111111111:user/sim-admin")}`,
    );
    expect(await entry.json()).toMatchObject({
      policies: ["arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"],
    });

    expect((await call("DELETE", "clusters/111111111111/eu-west-1/web")).status).toBe(204);
    expect((await client(sim, "eu-west-1").send(new ListClustersCommand({}))).clusters).toEqual([]);
    expect((await call("GET", "clusters/111111111111/eu-west-1/web")).status).toBe(404);
  });

  test("injects and clears faults, reads and resets the call log, changes settings", async () => {
    sim.state.resetCalls();
    const f = await call("POST", "faults", { region: "us-east-1", kind: "throttle" });
    expect(f.status).toBe(201);
    expect(
      await client(sim)
        .send(new ListClustersCommand({}))
        .catch((x) => x),
    ).toBeInstanceOf(ThrottlingException);
    expect((await call("POST", "faults", { kind: "explode" })).status).toBe(400);
    expect((await call("DELETE", "faults")).status).toBe(204);
    await client(sim).send(new ListClustersCommand({}));
    const log = (await (await call("GET", "calls")).json()) as {
      calls: { status: number }[];
      counts: Record<string, number>;
    };
    expect(log.calls.map((c) => c.status)).toEqual([429, 200]);
    expect(log.counts).toEqual({ "eks:ListClusters": 2 });
    expect((await call("DELETE", "calls")).status).toBe(204);
    expect(sim.state.calls()).toEqual([]);
    await call("PUT", "settings", { latencyMs: 60 });
    const t = performance.now();
    await client(sim).send(new ListClustersCommand({}));
    expect(performance.now() - t).toBeGreaterThanOrEqual(55);
    await call("PUT", "settings", { latencyMs: 0 });
  });
});

describe("seed files", () => {
  test("parse accounts, clusters and generated clusters", async () => {
    const path = join(dir, "seed.yaml");
    writeFileSync(
      path,
      [
        "latencyMs: 5",
        "rateLimit: { rps: 100, burst: 200 }",
        "accounts:",
        "  - id: 123456789012",
        "    principals: [{ arn: 'arn:aws:iam::123456789012:user/ops', accessKeyId: AKIAOPS0000000000001, secretAccessKey: ops }]",
        "clusters:",
        "  - { name: prod, region: us-east-1, tags: { env: prod } }",
        "generate:",
        "  - { count: 6, regions: [us-east-1, us-west-2], namePrefix: gen, tags: { env: dev } }",
      ].join("\n"),
    );
    const opts = await loadSeedFile(path);
    expect(opts.accounts?.[0]?.id).toBe("123456789012");
    expect(opts.rateLimit).toEqual({ rps: 100, burst: 200 });
    const sim = await startAwsSim(opts);
    try {
      expect(sim.env.AWS_ACCESS_KEY_ID).toBe("AKIAOPS0000000000001");
      expect((await client(sim).send(new ListClustersCommand({}))).clusters).toEqual([
        "gen-00001",
        "gen-00003",
        "gen-00005",
        "prod",
      ]);
      expect(sim.state.getCluster("123456789012", "us-west-2", "gen-00002")?.tags).toEqual({ env: "dev" });
    } finally {
      await sim.close();
    }
  });

  test("name the problem", () => {
    expect(() => parseSeed("clusterz: []", "x.yaml")).toThrow("x.yaml: unknown key clusterz");
    expect(() => parseSeed("clusters: [{ name: a }]", "x.yaml")).toThrow("clusters[0] needs name and region");
  });
});

test("the kubeApi hook gives each new cluster its endpoint and CA", async () => {
  const seen: string[] = [];
  const sim = await startAwsSim({
    clusters: [{ name: "k1", region: "us-east-1" }],
    kubeApi: async (c) => {
      seen.push(c.arn);
      return { endpoint: `https://127.0.0.1:9/${c.name}`, caData: Buffer.from("pem").toString("base64") };
    },
  });
  try {
    await sim.state.addCluster({ name: "k2", region: "us-east-1" });
    expect(seen).toEqual([
      "arn:aws:eks:us-east-1:111111111111:cluster/k1",
      "arn:aws:eks:us-east-1:111111111111:cluster/k2",
    ]);
    const { cluster } = await client(sim).send(new DescribeClusterCommand({ name: "k2" }));
    expect([cluster?.endpoint, cluster?.certificateAuthority?.data]).toEqual([
      "https://127.0.0.1:9/k2",
      "cGVt",
    ]);
  } finally {
    await sim.close();
  }
});

test("the CLI serves a seed file and prints the URL and env", async () => {
  const path = join(dir, "cli.yaml");
  writeFileSync(path, "clusters: [{ name: cli, region: us-east-1 }]\n");
  const proc = Bun.spawn([process.execPath, "src/sim/aws/main.ts", "--seed", path, "--port", "0"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    const out = await readUntil(proc.stdout, /AWS_SECRET_ACCESS_KEY=\S+\n/, 10_000);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    expect(url).toBeString();
    expect(out).toContain(`export AWS_ENDPOINT_URL_EKS=${url}`);
    const key = /AWS_ACCESS_KEY_ID=(\S+)/.exec(out)?.[1] as string;
    const secret = /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(out)?.[1] as string;
    const eks = new EKSClient({
      region: "us-east-1",
      endpoint: url,
      credentials: { accessKeyId: key, secretAccessKey: secret },
      maxAttempts: 1,
    });
    expect((await eks.send(new ListClustersCommand({}))).clusters).toEqual(["cli"]);
  } finally {
    proc.kill();
    await proc.exited;
  }
}, 60_000);

test("10,000 clusters over 17 regions seed fast and page completely", async () => {
  const regions = EKS_REGIONS.slice(0, 17);
  let t = performance.now();
  const sim = await startAwsSim(
    parseSeed(`generate: [{ count: 10000, regions: [${regions.join(", ")}], namePrefix: c }]`),
  );
  const seedMs = performance.now() - t;
  try {
    t = performance.now();
    const counts = await Promise.all(
      regions.map(async (r) => {
        let n = 0;
        for await (const page of paginateListClusters({ client: client(sim, r) }, {}))
          n += page.clusters?.length ?? 0;
        return n;
      }),
    );
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(seedMs).toBeLessThan(5_000);
    expect(performance.now() - t).toBeLessThan(5_000);
  } finally {
    await sim.close();
  }
}, 60_000);
