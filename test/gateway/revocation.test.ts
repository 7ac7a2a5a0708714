// Revocation reaches open streams: real kubectl (and a real WebSocket client) → gateway → simulated
// EKS. Each case opens a long-lived stream, changes the registry the way an admin would (ctl users rm,
// a role edit, ctl lock, or just time passing the token's expiry) and checks that the stream ends
// upstream within about a second, and that the person is told why.
import { beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Role } from "../../src/registry/index.ts";
import type { KubeSim } from "../../src/sim/index.ts";
import { kubectl } from "../helpers/kubectl.ts";
import type { TestGateway } from "./fixture.ts";
import { execSocket, exitOf, until, useSimGateway } from "./sim-gateway.ts";

/** ~1 s is the promise; the rest is slack for a loaded CI machine (2 cores, several test runs). */
const REVOKED_WITHIN_MS = 5000;

const stand = useSimGateway();

const role = (name: string, env: string): Role => ({
  kind: "role",
  version: "v1",
  metadata: { name },
  spec: { allow: { kubernetes_labels: { env }, kubernetes_groups: ["developers"] } },
});

type Live = ReturnType<KubeSim["liveStreams"]>;
const live = (kind: keyof Live) => stand.dev.liveStreams()[kind];

/** Runs `change` and returns the ms from just before it until the simulated API server saw the stream close. */
async function msUntilUpstreamCloses(kind: keyof Live, before: number, change: () => Promise<unknown>) {
  const t0 = performance.now();
  await change();
  await until(`the upstream ${kind} to close`, () => live(kind) === before);
  return performance.now() - t0;
}

describe("revocation reaches open streams", () => {
  test("ctl users rm ends the user's exec within a second; kubectl prints why; the pod's process sees the close", async () => {
    const { env } = await stand.person("gone-exec");
    const before = live("exec");
    const k = stand.open(env, ["exec", "web-0", "--", "sleep", "600"]);
    await until("the exec to start upstream", () => live("exec") === before + 1);

    const ms = await msUntilUpstreamCloses("exec", before, () => stand.ctl("users", "rm", "gone-exec"));
    expect(await exitOf(k)).toBe(1);
    expect(k.stderr()).toContain('error: kubeport: user "gone-exec" was removed');
    expect(ms).toBeLessThan(REVOKED_WITHIN_MS);
  }, 60_000);

  test("a role edit that takes the cluster away ends a watch with an ERROR event kubectl prints", async () => {
    await stand.gw.backend.put(role("watchers", "dev"));
    const { env } = await stand.person("role-watch", { roles: ["watchers"] });
    const before = live("watch");
    const k = stand.open(env, ["get", "pods", "-w"]);
    await k.waitFor((o) => o.includes("web-2"), 20_000);
    await until("the watch to be open upstream", () => live("watch") === before + 1);

    const file = join(stand.gw.dir, "watchers-prod-only.yaml");
    writeFileSync(
      file,
      "kind: role\nversion: v1\nmetadata: { name: watchers }\nspec:\n  allow: { kubernetes_labels: { env: prod }, kubernetes_groups: [developers] }\n",
    );
    const ms = await msUntilUpstreamCloses("watch", before, () => stand.ctl("create", "-f", file, "--force"));
    // kubectl get -w prints an ERROR event's Status as a row (STATUS REASON MESSAGE) and, the watch
    // being over, exits 0: client-go's reading of a watch that ended.
    expect(await exitOf(k)).toBe(0);
    expect(k.stdout()).toMatch(
      /Failure\s+Forbidden\s+kubeport: access removed: no role of user "role-watch" allows cluster "dev-a"/,
    );
    expect(ms).toBeLessThan(REVOKED_WITHIN_MS);
  }, 60_000);

  test("ctl lock --user ends logs -f, refuses new requests with its message before upstream, and rm lifts it", async () => {
    const { env } = await stand.person("lock-logs");
    const before = live("logs");
    const k = stand.open(env, ["logs", "-f", "web-1"]);
    await k.waitFor((o) => o.includes("tick at"), 20_000);

    let out = "";
    const ms = await msUntilUpstreamCloses("logs", before, async () => {
      out = await stand.ctl("lock", "--user", "lock-logs", "--message", "incident 7: call security");
    });
    expect(ms).toBeLessThan(REVOKED_WITHIN_MS);
    // A log stream has no place for a message: it ends as a finished log does.
    expect(await exitOf(k)).toBe(0);
    const name = /name "([^"]+)"/.exec(out)![1]!;

    stand.dev.resetRequests();
    const refused = await kubectl(env, ["get", "pods"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'Error from server (Forbidden): lock targeting user "lock-logs" is in force: incident 7: call security',
    );
    // Refused at the gateway: nothing this user sent reached the cluster.
    expect(stand.dev.requests().filter((r) => r.user === "lock-logs")).toEqual([]);

    expect(await stand.ctl("get", "lock")).toContain("user=lock-logs");
    await stand.ctl("rm", `lock/${name}`);
    const deadline = Date.now() + 10_000;
    let after = await kubectl(env, ["get", "pods"]);
    while (after.code !== 0 && Date.now() < deadline) after = await kubectl(env, ["get", "pods"]);
    expect(after.stdout).toContain("web-0");
  }, 90_000);

  test("ctl lock --role ends port-forward (kubectl: lost connection to pod)", async () => {
    await stand.gw.backend.put(role("forwarders", "dev"));
    const { env } = await stand.person("lock-pf", { roles: ["forwarders"] });
    const before = live("portforward");
    const k = stand.open(env, ["port-forward", "web-0", ":80"]);
    await k.waitFor((o) => /127\.0\.0\.1:\d+ -> 80/.test(o), 20_000);
    await until("the tunnel to be open upstream", () => live("portforward") === before + 1);

    const ms = await msUntilUpstreamCloses("portforward", before, () =>
      stand.ctl("lock", "--role", "forwarders", "--ttl", "10m"),
    );
    expect(await exitOf(k)).toBe(1);
    expect(k.stderr()).toContain("lost connection to pod");
    expect(ms).toBeLessThan(REVOKED_WITHIN_MS);
  }, 60_000);

  test("ctl lock --cluster ends an exec: a WebSocket client gets the Status on channel 3, then close 1000", async () => {
    const { token } = await stand.person("lock-ws", { roles: ["admin"], cluster: "prod-a" });
    const prod = stand.sims.prod;
    const before = prod.liveStreams().exec;
    const { closed, status } = execSocket(stand.gw, "prod-a", token);
    await until("the exec to start upstream", () => prod.liveStreams().exec === before + 1);

    const t0 = performance.now();
    await stand.ctl("lock", "--cluster", "prod-a", "--message", "change freeze");
    await until("the upstream exec to close", () => prod.liveStreams().exec === before);
    const ms = performance.now() - t0;
    const close = await closed;
    expect(close.code).toBe(1000);
    expect(status()).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'kubeport: lock targeting cluster "prod-a" is in force: change freeze',
      reason: "Forbidden",
      code: 403,
    });
    expect(ms).toBeLessThan(REVOKED_WITHIN_MS);
    // The lock holds everyone off prod-a (403 with its message), and only prod-a. (Raw requests: a
    // kubectl with no discovery cache yet shows a 403 on /api as "unknown", whatever the message.)
    const other = await stand.person("lock-ws-2", { roles: ["admin"], cluster: "prod-a" });
    const refused = await stand.gw.fetch("/v1/clusters/prod-a/api/v1/namespaces/default/pods", {
      token: other.token,
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toBe(
      'lock targeting cluster "prod-a" is in force: change freeze',
    );
    const onDev = await stand.gw.fetch("/v1/clusters/dev-a/api/v1/namespaces/default/pods", {
      token: other.token,
    });
    expect(onDev.status).toBe(200);
  }, 60_000);

  test("a watch ends when its token expires, with a 401 ERROR event", async () => {
    const { env, token } = await stand.person("short-token", { ttlMs: 6000 });
    const exp = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).exp * 1000;
    const before = live("watch");
    const k = stand.open(env, ["get", "pods", "-w"]);
    await k.waitFor((o) => o.includes("web-2"), 20_000);
    await until("the watch to be open upstream", () => live("watch") === before + 1);
    if (Date.now() >= exp) throw new Error("the machine took longer than the token's life to start kubectl");

    await until("the upstream watch to close", () => live("watch") === before, 30_000);
    const late = Date.now() - exp;
    expect(await exitOf(k)).toBe(0);
    expect(k.stdout()).toMatch(/Failure\s+Unauthorized\s+kubeport: your token expired at /);
    // At expiry, not before it; and not the 30 s of clock-skew tolerance new requests get.
    expect(late).toBeGreaterThanOrEqual(-50);
    expect(late).toBeLessThan(REVOKED_WITHIN_MS);
  }, 60_000);
});

describe("proxy_service.disconnect_expired_credentials: no", () => {
  let keep: TestGateway;
  beforeAll(async () => {
    keep = await stand.another("  disconnect_expired_credentials: no\n");
  }, 60_000);

  test("an exec outlives its token (and still ends when the user is removed)", async () => {
    const { env, token } = await stand.person("keeps-going", { ttlMs: 3000, gateway: keep });
    const exp = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).exp * 1000;
    const before = live("exec");
    const k = stand.open(env, ["exec", "web-0", "--", "sleep", "600"]);
    await until("the exec to start upstream", () => live("exec") === before + 1);
    await until("the token to be 1.5 s past its expiry", () => Date.now() > exp + 1500, 30_000);
    expect(live("exec")).toBe(before + 1);

    await keep.backend.delete("user", "keeps-going");
    await until("the upstream exec to close", () => live("exec") === before);
    expect(await exitOf(k)).toBe(1);
    expect(k.stderr()).toContain('user "keeps-going" was removed');
  }, 60_000);
});
