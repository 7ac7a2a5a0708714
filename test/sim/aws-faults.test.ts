// AWS simulator: injected faults, the per account+region rate limit, latency, and the call log.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import {
  AccessDeniedException,
  DescribeClusterCommand,
  EKSClient,
  ListClustersCommand,
  ServiceUnavailableException,
  ThrottlingException,
} from "@aws-sdk/client-eks";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { type AwsSim, startAwsSim } from "../../src/sim/aws/index.ts";

let sim: AwsSim;
const creds = () => ({
  accessKeyId: sim.env.AWS_ACCESS_KEY_ID as string,
  secretAccessKey: sim.env.AWS_SECRET_ACCESS_KEY as string,
});
const eks = (region = "us-east-1", maxAttempts = 1) =>
  new EKSClient({ region, endpoint: sim.url, credentials: creds(), maxAttempts });
const list = (region = "us-east-1", maxAttempts = 1) =>
  eks(region, maxAttempts).send(new ListClustersCommand({}));

beforeAll(async () => {
  sim = await startAwsSim({
    clusters: [
      { name: "a", region: "us-east-1" },
      { name: "b", region: "us-west-2" },
    ],
  });
});
afterEach(() => {
  sim.state.clearFaults();
  sim.state.setRateLimit(false);
  sim.state.setLatency(0);
  sim.state.resetCalls();
});
afterAll(() => sim.close());

describe("faults", () => {
  test("throttle: ThrottlingException (429) in the faulted region only; the SDK retries it", async () => {
    sim.state.injectFault({ region: "us-east-1", action: "eks:ListClusters", kind: "throttle" });
    const e = await list().catch((x) => x);
    expect(e).toBeInstanceOf(ThrottlingException);
    expect(e.$metadata.httpStatusCode).toBe(429);
    expect((await list("us-west-2")).clusters).toEqual(["b"]);
    expect((await eks().send(new DescribeClusterCommand({ name: "a" }))).cluster?.name).toBe("a");
    sim.state.resetCalls();
    const retried = await list("us-east-1", 3).catch((x) => x);
    expect(retried).toBeInstanceOf(ThrottlingException);
    expect(sim.state.callCounts()["eks:ListClusters"]).toBe(3);
  });

  test("throttle at rate 0.5 hits about half the calls", async () => {
    sim.state.injectFault({ action: "ListClusters", kind: "throttle", rate: 0.5 });
    const results = await Promise.all(
      Array.from({ length: 120 }, () =>
        list().then(
          () => 0,
          () => 1,
        ),
      ),
    );
    const failed = results.reduce<number>((a, b) => a + b, 0);
    expect(failed).toBeGreaterThan(30);
    expect(failed).toBeLessThan(90);
  });

  test("throttle with count: exactly that many matching calls, then the fault is gone", async () => {
    sim.state.injectFault({ region: "us-east-1", action: "ListClusters", kind: "throttle", count: 2 });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++)
      outcomes.push(
        await list().then(
          () => "ok",
          (e) => e.name,
        ),
      );
    expect(outcomes).toEqual(["ThrottlingException", "ThrottlingException", "ok", "ok"]);
    expect(await (await fetch(`${sim.url}/_sim/faults`)).json()).toEqual({ faults: [] });
  });

  test("denied: AccessDeniedException for the faulted account", async () => {
    sim.state.injectFault({ account: "111111111111", kind: "denied", action: "DescribeCluster" });
    expect(
      await eks()
        .send(new DescribeClusterCommand({ name: "a" }))
        .catch((x) => x),
    ).toBeInstanceOf(AccessDeniedException);
    expect((await list()).clusters).toEqual(["a"]);
  });

  test("down: the region answers 503 ServiceUnavailableException until the fault is removed", async () => {
    const id = sim.state.injectFault({ region: "us-west-2", kind: "down" });
    const e = await list("us-west-2").catch((x) => x);
    expect(e).toBeInstanceOf(ServiceUnavailableException);
    expect(e.$metadata.httpStatusCode).toBe(503);
    sim.state.removeFault(id);
    expect((await list("us-west-2")).clusters).toEqual(["b"]);
  });

  test("latency: added to matching calls", async () => {
    sim.state.injectFault({ region: "us-east-1", kind: "latency", ms: 150 });
    let t = performance.now();
    await list();
    expect(performance.now() - t).toBeGreaterThanOrEqual(145);
    t = performance.now();
    await list("us-west-2");
    expect(performance.now() - t).toBeLessThan(145);
  });

  test("global latencyMs applies to every call", async () => {
    sim.state.setLatency(80);
    const t = performance.now();
    await list("us-west-2");
    expect(performance.now() - t).toBeGreaterThanOrEqual(75);
  });

  test("hang: the call is never answered until the caller gives up; other regions answer at once", async () => {
    const id = sim.state.injectFault({ region: "us-east-1", kind: "hang" });
    const t = performance.now();
    const e = await eks()
      .send(new ListClustersCommand({}), { abortSignal: AbortSignal.timeout(400) })
      .catch((x) => x);
    expect(e.name).toBe("AbortError");
    expect(performance.now() - t).toBeGreaterThanOrEqual(390);
    expect((await list("us-west-2")).clusters).toEqual(["b"]);
    // Removing the fault releases calls that are hanging.
    const pending = list();
    await Bun.sleep(100);
    sim.state.removeFault(id);
    expect((await pending).clusters).toEqual(["a"]);
  });

  test("a per-cluster fault hits only calls naming that cluster", async () => {
    await sim.state.addCluster({ name: "c", region: "us-east-1" });
    try {
      sim.state.injectFault({ cluster: "a", kind: "down" });
      expect((await list()).clusters).toEqual(["a", "c"]);
      const e = await eks()
        .send(new DescribeClusterCommand({ name: "a" }))
        .catch((x) => x);
      expect(e).toBeInstanceOf(ServiceUnavailableException);
      expect((await eks().send(new DescribeClusterCommand({ name: "c" }))).cluster?.name).toBe("c");
    } finally {
      sim.state.deleteCluster("111111111111", "us-east-1", "c");
    }
  });

  test("STS throttling uses the query-protocol code", async () => {
    sim.state.injectFault({ action: "sts:GetCallerIdentity", kind: "throttle" });
    const sts = new STSClient({
      region: "us-east-1",
      endpoint: sim.url,
      credentials: creds(),
      maxAttempts: 1,
    });
    const e = await sts.send(new GetCallerIdentityCommand({})).catch((x) => x);
    expect([e.name, e.$metadata.httpStatusCode]).toEqual(["Throttling", 400]);
  });
});

describe("rate limit", () => {
  test("a token bucket per account+region answers ThrottlingException past the burst, then refills", async () => {
    sim.state.setRateLimit({ rps: 5, burst: 3 });
    for (let i = 0; i < 3; i++) await list();
    expect(await list().catch((x) => x)).toBeInstanceOf(ThrottlingException);
    expect((await list("us-west-2")).clusters).toEqual(["b"]); // another region has its own bucket
    await Bun.sleep(250);
    expect((await list()).clusters).toEqual(["a"]);
  });
});

test("the call log records action, account, region, principal and status", async () => {
  await list();
  await eks()
    .send(new DescribeClusterCommand({ name: "missing" }))
    .catch(() => {});
  const calls = sim.state.calls().map(({ at: _, ...c }) => c);
  expect(calls).toEqual([
    {
      action: "eks:ListClusters",
      account: "111111111111",
      region: "us-east-1",
      principal: "arn:aws:iam::111111111111:user/sim-admin",
      status: 200,
    },
    {
      action: "eks:DescribeCluster",
      account: "111111111111",
      region: "us-east-1",
      principal: "arn:aws:iam::111111111111:user/sim-admin",
      status: 404,
    },
  ]);
  expect(sim.state.callCounts()).toEqual({ "eks:ListClusters": 1, "eks:DescribeCluster": 1 });
});
