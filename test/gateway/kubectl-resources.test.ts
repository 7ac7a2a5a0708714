// Real kubectl through the gateway with a role that allows `web-*` pods in `default` only, and what
// kubectl prints when kubeport refuses: the reason, not "unknown" or the generic 401 text.
import { beforeAll, describe, expect, test } from "bun:test";
import { issueUserToken } from "../../src/gateway/auth/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import { type KubectlEnv, kubectl, kubectlStream } from "../helpers/kubectl.ts";
import { ISSUER, useSimGateway } from "./sim-gateway.ts";

const now = new Date().toISOString();

const resources: Resource[] = [
  {
    kind: "role",
    version: "v1",
    metadata: { name: "web-only" },
    spec: {
      allow: {
        kubernetes_labels: { env: "dev" },
        kubernetes_groups: ["developers"],
        kubernetes_resources: [
          {
            kind: "pods",
            namespace: "default",
            name: "web-*",
            verbs: ["get", "list", "watch", "exec", "portforward", "delete"],
          },
        ],
      },
    },
  },
  ...["wendy", "locked", "gone", "late"].map(
    (name) =>
      ({
        kind: "user",
        version: "v1",
        metadata: { name },
        spec: { roles: ["web-only"], created: now },
      }) as Resource,
  ),
];

const stand = useSimGateway({ resources });

async function envFor(user: string, cluster = "dev-a", opts: { expired?: boolean } = {}) {
  const token = await issueUserToken(stand.gw.backend, {
    user,
    issuer: ISSUER,
    ...(opts.expired ? { ttlMs: 60_000, clock: { now: () => Date.now() - 3_600_000 } } : {}),
  });
  return stand.envWith(token, cluster);
}

let wendy: KubectlEnv;

beforeAll(async () => {
  stand.dev.addPod("default", "db-0");
  stand.dev.addPod("default", "web-doomed");
  wendy = await envFor("wendy");
}, 60_000);

describe("kubectl with a role allowing web-* pods in default", () => {
  test("get pods shows only web-* pods; get pod db-0 is refused naming the rule", async () => {
    const r = await kubectl(wendy, ["get", "pods"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("web-0");
    expect(r.stdout).not.toContain("db-0");
    const one = await kubectl(wendy, ["get", "pod", "db-0"]);
    expect(one.code).not.toBe(0);
    expect(one.stderr).toContain(
      'Error from server (Forbidden): pods "db-0" is forbidden: User "wendy" cannot get resource "pods" in API group "" in the namespace "default"',
    );
    expect(one.stderr).toContain("no allow.kubernetes_resources rule of your roles");
  }, 60_000);

  test("get namespaces shows default only; pods in another namespace are refused up front", async () => {
    const ns = await kubectl(wendy, ["get", "namespaces", "-o", "name"]);
    expect(ns.code).toBe(0);
    expect(ns.stdout.trim()).toBe("namespace/default");
    const other = await kubectl(wendy, ["get", "pods", "-n", "kube-system"]);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('pods is forbidden: User "wendy" cannot list resource "pods"');
  }, 60_000);

  test("get -w: a created db pod never shows, a web pod does", async () => {
    const w = kubectlStream(wendy, ["get", "pods", "-w"]);
    try {
      await w.waitFor((o) => o.includes("web-2"), 15_000);
      stand.dev.addPod("default", "db-watched");
      stand.dev.addPod("default", "web-watched");
      await w.waitFor((o) => o.includes("web-watched"), 15_000);
      expect(w.stdout()).not.toContain("db-watched");
    } finally {
      await w.stop();
    }
  }, 60_000);

  test("describe, logs and exec of a web pod work; of db-0 they are refused", async () => {
    const d = await kubectl(wendy, ["describe", "pod", "web-0"]);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain("Name:");
    expect((await kubectl(wendy, ["logs", "web-0"])).code).toBe(0);
    const ex = await kubectl(wendy, ["exec", "web-0", "--", "echo", "hi"]);
    expect(ex.stdout).toBe("hi\n");
    const before = stand.dev.execs().length;
    const denied = await kubectl(wendy, ["exec", "db-0", "--", "echo", "hi"]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('pods "db-0" is forbidden');
    expect(stand.dev.execs().length).toBe(before);
    expect((await kubectl(wendy, ["logs", "db-0"])).stderr).toContain('pods "db-0" is forbidden');
  }, 60_000);

  test("port-forward to a web pod works", async () => {
    const pf = kubectlStream(wendy, ["port-forward", "web-0", ":80"]);
    try {
      const out = await pf.waitFor((o) => /127\.0\.0\.1:\d+ -> 80/.test(o), 15_000);
      const port = Number(/127\.0\.0\.1:(\d+) -> 80/.exec(out)![1]);
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("hello from web-0\n");
    } finally {
      await pf.stop();
    }
  }, 60_000);

  test("delete a web pod works; delete db-0 is refused and db-0 stays", async () => {
    const ok = await kubectl(wendy, ["delete", "pod", "web-doomed", "--wait=false"]);
    expect(ok.code).toBe(0);
    const no = await kubectl(wendy, ["delete", "pod", "db-0", "--wait=false"]);
    expect(no.code).not.toBe(0);
    expect(no.stderr).toContain('pods "db-0" is forbidden');
    expect(stand.dev.pods("default").some((p) => p.metadata.name === "db-0")).toBe(true);
  }, 60_000);
});

describe("kubectl auth can-i: answered from kubernetes_resources", () => {
  /** Reviews that reached the cluster as wendy (the gateway's own health checks send one too). */
  const reviews = () =>
    stand.dev
      .requests()
      .filter(
        (r) => r.path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" && r.user === "wendy",
      ).length;

  test("what the rules refuse: no, with the reason, and the cluster is never asked", async () => {
    stand.dev.resetRequests();
    for (const [args, why] of [
      [["get", "pods/db-0"], 'pods "db-0" is forbidden: User "wendy" cannot get resource "pods"'],
      [["create", "pods/db-0", "--subresource=exec"], 'pods "db-0" is forbidden: User "wendy" cannot exec'],
      [["list", "configmaps"], 'configmaps is forbidden: User "wendy" cannot list resource "configmaps"'],
      [["get", "pods/web-0", "-n", "kube-system"], 'in the namespace "kube-system"'],
      [["deletecollection", "pods"], 'pods is forbidden: User "wendy" cannot deletecollection'],
      // A `*` asks about all of it (the cluster's RBAC reads it so): no rule of wendy's has every verb,
      // nor every kind.
      [["*", "pods/web-0"], 'a "*" in a review asks about all of them'],
      [["get", "*"], 'a "*" in a review asks about all of them'],
    ] as const) {
      const r = await kubectl(wendy, ["auth", "can-i", ...args]);
      expect(`${args.join(" ")}: ${r.stdout}`).toStartWith(`${args.join(" ")}: no - kubeport: `);
      expect(r.code).toBe(1);
      expect(r.stdout).toStartWith("no - kubeport: ");
      expect(r.stdout).toContain(why);
      expect(r.stdout).toContain("kubernetes_resources");
    }
    expect(reviews()).toBe(0);
  }, 60_000);

  test("what the rules allow: the cluster's RBAC answers (yes here)", async () => {
    stand.dev.resetRequests();
    for (const args of [
      ["get", "pods/web-0"],
      ["create", "pods/web-0", "--subresource=exec"],
      ["list", "pods"],
      ["watch", "pods"],
    ]) {
      const r = await kubectl(wendy, ["auth", "can-i", ...args]);
      expect(r.stdout.trim()).toBe("yes");
      expect(r.code).toBe(0);
    }
    expect(reviews()).toBe(4);
  }, 60_000);
});

describe("kubectl auth can-i --list: the rules kubeport enforces, not the cluster's", () => {
  // The cluster's RBAC grants wendy's impersonated group (developers) everything, secrets included;
  // kubeport lets her reach web-* pods in default only. Forwarded, the review listed `*.*`.
  test("listed from kubernetes_resources, marked incomplete; the review never reaches the cluster", async () => {
    stand.dev.rbac.put({
      kind: "ClusterRole",
      metadata: { name: "dev-everything" },
      rules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }],
    });
    stand.dev.rbac.put({
      kind: "ClusterRoleBinding",
      metadata: { name: "developers-everything" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "dev-everything" },
      subjects: [{ kind: "Group", name: "developers", apiGroup: "rbac.authorization.k8s.io" }],
    });
    try {
      await listed();
    } finally {
      // The rest of this file runs against the cluster's RBAC as it was.
      stand.dev.rbac.put({ kind: "ClusterRole", metadata: { name: "dev-everything" }, rules: [] });
    }
  }, 60_000);

  async function listed() {
    stand.dev.resetRequests();
    const r = await kubectl(wendy, ["auth", "can-i", "--list"]);
    expect(r.code).toBe(0);
    const rows = r.stdout.split("\n").map((l) => l.trim().split(/\s+/));
    // Resources  Non-Resource URLs  Resource Names  Verbs
    expect(rows).toContainEqual(["pods", "[]", "[web-*]", "[get", "list", "watch", "delete]"]);
    expect(rows).toContainEqual(["pods/attach", "[]", "[web-*]", "[create", "get]"]);
    expect(rows).toContainEqual(["pods/exec", "[]", "[web-*]", "[create", "get]"]);
    expect(rows).toContainEqual(["pods/portforward", "[]", "[web-*]", "[create", "get]"]);
    expect(r.stdout).not.toContain("*.*");
    expect(r.stdout).not.toContain("secrets");
    // kubectl says the list is incomplete, with kubeport's why.
    expect(r.stderr).toContain("kubeport: these are the kubernetes_resources rules of your roles");
    expect(stand.dev.requests().filter((q) => q.path.endsWith("/selfsubjectrulesreviews"))).toEqual([]);
    // Another namespace: nothing of wendy's reaches it.
    const other = await kubectl(wendy, ["auth", "can-i", "--list", "-n", "kube-system"]);
    expect(other.code).toBe(0);
    expect(other.stdout).not.toContain("pods");
    expect(stand.dev.requests().filter((q) => q.path.endsWith("/selfsubjectrulesreviews"))).toEqual([]);
  }
});

describe("what kubectl prints when kubeport refuses", () => {
  test("a cluster outside the user's roles: the reason, not 'unknown'", async () => {
    const r = await kubectl(await envFor("wendy", "prod-a"), ["get", "pods"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'Error from server (Forbidden): no role of user "wendy" allows cluster "prod-a"',
    );
    expect(r.stderr).not.toContain("unknown");
  }, 60_000);

  test("a lock: its message", async () => {
    await stand.gw.backend.put({
      kind: "lock",
      version: "v1",
      metadata: { name: "lock-locked" },
      spec: { target: { user: "locked" }, message: "incident 42" },
    } as Resource);
    const e = await envFor("locked");
    let r = await kubectl(e, ["get", "pods"]);
    for (let i = 0; i < 50 && !r.stderr.includes("incident 42"); i++) {
      await Bun.sleep(100);
      r = await kubectl(e, ["get", "pods"]);
    }
    expect(r.stderr).toContain(
      'Error from server (Forbidden): lock targeting user "locked" is in force: incident 42',
    );
    expect(r.stderr).not.toContain("unknown");
  }, 60_000);

  test("an expired token: the reason next to kubectl's 401 text", async () => {
    const r = await kubectl(await envFor("late", "dev-a", { expired: true }), ["get", "pods"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Warning: kubeport: token expired");
    expect(r.stderr).toContain("You must be logged in to the server");
  }, 60_000);

  test("a removed user: the reason", async () => {
    const e = await envFor("gone");
    expect((await kubectl(e, ["get", "pods"])).code).toBe(0);
    await stand.gw.backend.delete("user", "gone");
    let r = await kubectl(e, ["get", "pods"]);
    for (let i = 0; i < 50 && r.code === 0; i++) {
      await Bun.sleep(100);
      r = await kubectl(e, ["get", "pods"]);
    }
    expect(r.stderr).toContain('Warning: kubeport: user "gone" no longer exists');
  }, 60_000);
});
