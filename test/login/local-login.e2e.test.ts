// The path a new person takes: an invite link sets a password and TOTP, `kubeport login` signs in,
// and real kubectl reaches the clusters their roles reach through the exec credential plugin,
// renewing silently; an expired login tells them to sign in again; logout ends it everywhere.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import {
  acceptInviteByForm,
  inviteUser,
  type LoginWorld,
  nextCode,
  PASSWORD,
  type Person,
  person,
  startLoginWorld,
} from "./harness.ts";

// Each step runs the kubeport CLI (and kubectl, which runs it again) as subprocesses on a loaded machine.
setDefaultTimeout(120_000);

let w: LoginWorld;
let alice: Person;
let secret: string;
const ctxName = (cluster: string) => `127.0.0.1-${cluster}`;

beforeAll(async () => {
  w = await startLoginWorld();
  alice = person();
  // An unrelated kubeconfig entry the login must leave alone.
  mkdirSync(join(alice.home, ".kube"), { recursive: true });
  writeFileSync(
    alice.kubeconfig,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "other", cluster: { server: "https://other.example:6443" } }],
      users: [{ name: "other", user: { token: "keep-me" } }],
      contexts: [{ name: "other", context: { cluster: "other", user: "other" } }],
      "current-context": "other",
    }),
  );
  const path = await inviteUser(w, "alice", "dev");
  const accepted = await acceptInviteByForm(w, path);
  expect(accepted.status).toBe(200);
  secret = accepted.secret;
});
afterAll(async () => {
  alice?.remove();
  await w?.close();
});

describe("invite → kubeport login → kubectl", () => {
  test("login with password and code writes a 0600 profile and a context per reachable cluster", async () => {
    const r = await alice.kubeport(
      ["login", "--proxy", `https://${w.proxy}`, "--user", "alice", "--ca-file", w.caFile],
      { stdin: `${PASSWORD}\n${nextCode(secret)}\n` },
    );
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Logged in as:       alice");
    expect(r.stdout).toContain("1 cluster: dev-1");
    const profileFile = join(alice.home, ".kubeport", "profiles", `${w.proxy.replace(":", "_")}.json`);
    expect(statSync(profileFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(alice.home, ".kubeport")).mode & 0o777).toBe(0o700);
    expect(statSync(alice.kubeconfig).mode & 0o777).toBe(0o600);
    const kc = parse(readFileSync(alice.kubeconfig, "utf8"));
    const contexts = kc.contexts.map((c: { name: string }) => c.name);
    expect(contexts).toEqual(["other", ctxName("dev-1")]);
    // Unrelated entries untouched, the current context too (kube login chooses).
    expect(kc.users.find((u: { name: string }) => u.name === "other").user.token).toBe("keep-me");
    expect(kc["current-context"]).toBe("other");
    const user = kc.users.find((u: { name: string }) => u.name === ctxName("dev-1")).user;
    expect(user.exec.apiVersion).toBe("client.authentication.k8s.io/v1");
    expect(user.exec.interactiveMode).toBe("IfAvailable");
    expect(user.exec.args).toContain("credentials");
    expect(user.exec.args).toContain(`--proxy=${w.proxy}`);
    expect(user.exec.args).toContain("--cluster=dev-1");
  });

  test("real kubectl reaches the cluster as alice, through the exec plugin", async () => {
    const before = w.upstream.proxied().length;
    const r = await alice.kubectl(["--context", ctxName("dev-1"), "version", "-o", "json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // kubectl's request, not one of the gateway's own health checks (GET /version too, on a timer).
    const seen = w.upstream
      .proxied()
      .slice(before)
      .find((q) => q.target.startsWith("/version"));
    expect(seen?.headers.get("impersonate-user")).toBe("alice");
    expect(seen?.headers.get("authorization")).toBe("Bearer upstream-secret");
  });

  test("kube ls shows what alice may reach; kube login selects it", async () => {
    const ls = await alice.kubeport(["kube", "ls"]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain("dev-1");
    expect(ls.stdout).not.toContain("prod-1");
    expect(
      JSON.parse((await alice.kubeport(["kube", "ls", "-o", "json"])).stdout).map(
        (c: { name: string }) => c.name,
      ),
    ).toEqual(["dev-1"]);
    expect((await alice.kubeport(["kube", "ls", "-o", "name"])).stdout).toBe("dev-1\n");
    const refused = await alice.kubeport(["kube", "login", "prod-1"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('you may not reach cluster "prod-1"');
    const sel = await alice.kubeport(["kube", "login", "dev-1"]);
    expect(sel.code).toBe(0);
    expect(parse(readFileSync(alice.kubeconfig, "utf8"))["current-context"]).toBe(ctxName("dev-1"));
    expect((await alice.kubectl(["version", "-o", "json"])).code).toBe(0);
    const status = await alice.kubeport(["status"]);
    expect(status.stdout).toContain("Kubernetes cluster: dev-1");
    expect(status.stdout).toContain("Roles:              dev");
  });

  test("a second credentials run within validity makes no network call", async () => {
    const args = ["kube", "credentials", `--proxy=${w.proxy}`, "--cluster=dev-1"];
    const first = await alice.kubeport(args);
    expect(first.code).toBe(0);
    // Every outbound connection would now go to a proxy that is not there.
    const dead = { HTTPS_PROXY: "http://127.0.0.1:9", NO_PROXY: "" };
    const second = await alice.kubeport(args, { env: dead });
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    const cred = JSON.parse(second.stdout);
    expect(cred.kind).toBe("ExecCredential");
    expect(cred.apiVersion).toBe("client.authentication.k8s.io/v1");
    // One minute before the token's own expiry.
    const exp = JSON.parse(Buffer.from(cred.status.token.split(".")[1], "base64url").toString()).exp * 1000;
    expect(exp - Date.parse(cred.status.expirationTimestamp)).toBe(60_000);
  });

  test("a cluster token opens its own cluster only", async () => {
    const cred = JSON.parse(
      (await alice.kubeport(["kube", "credentials", `--proxy=${w.proxy}`, "--cluster=dev-1"])).stdout,
    );
    const res = await w.gw.fetch("/v1/clusters/prod-1/version", { token: cred.status.token });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('issued for cluster \\"dev-1\\"');
    const wrong = await alice.kubeport(["kube", "credentials", `--proxy=${w.proxy}`, "--cluster=prod-1"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('may not reach cluster "prod-1"');
    expect(wrong.stdout).toBe("");
  });

  test("an expired login: kubectl shows the message to run kubeport login, no stack trace", async () => {
    const profileFile = join(alice.home, ".kubeport", "profiles", `${w.proxy.replace(":", "_")}.json`);
    const saved = readFileSync(profileFile, "utf8");
    const p = JSON.parse(saved);
    writeFileSync(profileFile, JSON.stringify({ ...p, expires: new Date(Date.now() - 1000).toISOString() }));
    try {
      const r = await alice.kubectl(["--context", ctxName("dev-1"), "version", "-o", "json"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`run kubeport login --proxy=https://${w.proxy} --auth=local --user=alice`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      writeFileSync(profileFile, saved);
    }
  });

  test("logout ends the session on the gateway and removes only kubeport's contexts", async () => {
    const p = JSON.parse(
      readFileSync(join(alice.home, ".kubeport", "profiles", `${w.proxy.replace(":", "_")}.json`), "utf8"),
    );
    const r = await alice.kubeport(["logout"]);
    expect(r.code).toBe(0);
    const res = await w.gw.fetch("/v1/auth/session", { token: p.session });
    expect(res.status).toBe(401);
    const kc = parse(readFileSync(alice.kubeconfig, "utf8"));
    expect(kc.contexts.map((c: { name: string }) => c.name)).toEqual(["other"]);
    const after = await alice.kubeport(["kube", "credentials", `--proxy=${w.proxy}`, "--cluster=dev-1"]);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain("not signed in");
  });
});
