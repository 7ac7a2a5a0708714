// The simulated EKS API server driven like EKS is: real EKS tokens verified through the AWS simulator's STS,
// access entries, impersonation rules, real kubectl (through the /usr/bin/kubectl dispatcher) and @kubernetes/client-node.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type * as k8s from "@kubernetes/client-node";
import {
  ADMIN_POLICY,
  DEFAULT_PRINCIPAL,
  type KubeSim,
  type SimPrincipalSeed,
  type Simulation,
  startSimulation,
} from "../../src/sim/index.ts";
import { spawnCaptured } from "../helpers/cli.ts";
import { eksToken } from "./eks-token.ts";

const ACCOUNT = "111111111111";
const DEV: SimPrincipalSeed = {
  arn: `arn:aws:iam::${ACCOUNT}:user/dev`,
  accessKeyId: "AKIASIMULATORDEV0001",
  secretAccessKey: "devSecretKey/0000000000000000000000000000",
};
const STRANGER: SimPrincipalSeed = {
  arn: `arn:aws:iam::${ACCOUNT}:user/stranger`,
  accessKeyId: "AKIASIMULATORSTRANGE",
  secretAccessKey: "strangerSecretKey/00000000000000000000000",
};

const GATEWAY_ROLE = `arn:aws:iam::${ACCOUNT}:role/kubeport-gateway`;
/** A principal whose group may only impersonate (what kubeport's least_privilege access sets up). */
const IMPERSONATOR: SimPrincipalSeed = {
  arn: `arn:aws:iam::${ACCOUNT}:user/impersonator`,
  accessKeyId: "AKIASIMULATORIMPERS1",
  secretAccessKey: "impersonatorSecretKey/00000000000000000",
};

let sim: Simulation;
let kube: KubeSim;
let dir: string;
const kubeconfigs: Record<"admin" | "dev" | "stranger", string> = { admin: "", dev: "", stranger: "" };

function kubeconfigYaml(k: KubeSim, token: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: alpha
  cluster:
    server: ${k.endpoint}
    certificate-authority-data: ${k.caData}
users:
- name: u
  user:
    token: ${token}
contexts:
- name: alpha
  context: {cluster: alpha, user: u, namespace: default}
current-context: alpha
`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kubesim-"));
  sim = await startSimulation({
    clusters: [
      {
        name: "alpha",
        region: "us-east-1",
        version: "1.32",
        accessEntries: [
          { principalArn: DEV.arn, kubernetesGroups: ["devs"], username: "dev-user" },
          { principalArn: IMPERSONATOR.arn, kubernetesGroups: ["kubeport"] },
          { principalArn: GATEWAY_ROLE, policies: [ADMIN_POLICY] },
        ],
      },
    ],
    aws: {
      accounts: [
        {
          id: ACCOUNT,
          principals: [DEFAULT_PRINCIPAL, DEV, STRANGER, IMPERSONATOR],
          roles: [{ arn: GATEWAY_ROLE }],
        },
      ],
    },
  });
  const only = [...sim.kube.values()][0];
  if (!only) throw new Error("no simulated cluster");
  kube = only;
  // Group "devs" may read and write everything but impersonate; "kubeport" may only impersonate.
  kube.rbac.put({
    kind: "ClusterRole",
    metadata: { name: "edit-all" },
    rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["get", "list", "watch", "create", "delete"] }],
  });
  kube.rbac.put({
    kind: "ClusterRoleBinding",
    metadata: { name: "devs" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit-all" },
    subjects: [{ kind: "Group", name: "devs", apiGroup: "rbac.authorization.k8s.io" }],
  });
  for (const [who, creds] of [
    ["admin", DEFAULT_PRINCIPAL],
    ["dev", DEV],
    ["stranger", STRANGER],
  ] as const) {
    const path = join(dir, `${who}.kubeconfig`);
    writeFileSync(path, kubeconfigYaml(kube, await eksToken(sim.aws.url, "alpha", creds)));
    kubeconfigs[who] = path;
  }
});

afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectlEnv(who: keyof typeof kubeconfigs): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    KUBECONFIG: kubeconfigs[who],
    KUBECACHEDIR: join(dir, `cache-${who}`),
  };
}

/** Runs kubectl to completion (bounded by `timeoutMs`). */
async function kubectl(
  who: keyof typeof kubeconfigs,
  args: string[],
  stdin?: string,
  timeoutMs = 15_000,
): Promise<Run> {
  return spawnCaptured(["kubectl", ...args], { env: kubectlEnv(who), stdin, timeoutMs });
}

/** Spawns a long-running kubectl and collects stdout until `until` matches (or the deadline), then kills it. */
async function kubectlUntil(
  who: keyof typeof kubeconfigs,
  args: string[],
  until: (out: string) => boolean,
  onReady?: (out: string) => Promise<void>,
  timeoutMs = 15_000,
) {
  const proc = Bun.spawn(["kubectl", ...args], { env: kubectlEnv(who), stdout: "pipe", stderr: "pipe" });
  const deadline = Date.now() + timeoutMs;
  let out = "";
  let readyDone = !onReady;
  const reader = proc.stdout.getReader();
  const dec = new TextDecoder();
  try {
    while (Date.now() < deadline && !until(out)) {
      const chunk = await Promise.race([
        reader.read(),
        Bun.sleep(deadline - Date.now()).then(() => undefined),
      ]);
      if (!chunk || chunk.done) break;
      out += dec.decode(chunk.value);
      if (!readyDone && onReady) {
        readyDone = true;
        await onReady(out);
      }
    }
  } finally {
    proc.kill();
    await proc.exited;
  }
  return out;
}

const podYaml = (name: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
  - name: main
    image: busybox
`;

describe("kubectl against the simulated EKS API server", () => {
  test("get pods prints the Table columns of a real server and records who asked", async () => {
    kube.resetRequests();
    const r = await kubectl("admin", ["get", "pods"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
    for (const name of ["web-0", "web-1", "web-2"])
      expect(r.stdout).toMatch(new RegExp(`${name}\\s+1/1\\s+Running\\s+0\\s+\\d+s`));
    const list = kube
      .requests()
      .find((q) => q.path === "/api/v1/namespaces/default/pods" && q.method === "GET");
    expect(list?.user).toBe(DEFAULT_PRINCIPAL.arn);
    expect(list?.callerArn).toBe(DEFAULT_PRINCIPAL.arn);
    expect(list?.query).toContain("limit=500");
    expect(list?.kubectlCommand).toBe("kubectl get");
    expect(kube.requests().some((q) => q.path === "/version")).toBe(true);
  });

  test("get pods -w shows a pod created with kubectl create -f", async () => {
    const file = join(dir, "watched.yaml");
    writeFileSync(file, podYaml("watched"));
    let created: Run | undefined;
    const out = await kubectlUntil(
      "admin",
      ["get", "pods", "-w"],
      (o) => /watched\s+1\/1\s+Running/.test(o),
      async () => {
        created = await kubectl("admin", ["create", "-f", file]);
      },
    );
    expect(created?.stderr).toBe("");
    expect(created?.stdout).toContain("pod/watched created");
    expect(out).toMatch(/watched\s+0\/1\s+ContainerCreating/);
    expect(out).toMatch(/watched\s+1\/1\s+Running/);
    const del = await kubectl("admin", ["delete", "pod", "watched", "--wait=true"]);
    expect(del.stdout).toContain('pod "watched" deleted');
    expect(kube.store.pod("default", "watched")).toBeUndefined();
  });

  test("exec -i cat echoes stdin, then closes with success", async () => {
    const r = await kubectl("admin", ["exec", "-i", "web-0", "--", "cat"], "hello from stdin\nsecond line\n");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hello from stdin\nsecond line\n");
    expect(r.code).toBe(0);
    const rec = kube.execs().at(-1);
    expect(rec?.params.protocol).toBe("v5.channel.k8s.io");
    expect(rec?.params.command).toEqual(["cat"]);
  });

  test("exec -it cat on a terminal: typed keys echo, Backspace edits, each line prints once below it", async () => {
    // script(1) gives kubectl a real pseudo-terminal; kubectl puts it in raw mode and sends keys as
    // typed, so the echo a person sees comes from the pod's tty, as with a real container.
    const before = kube.execs().length;
    const p = Bun.spawn(
      ["script", "-qfec", "stty cols 100 rows 30; kubectl exec -it web-0 -- cat", "/dev/null"],
      { env: kubectlEnv("admin"), stdin: "pipe", stdout: "pipe", stderr: "pipe", timeout: 60_000 },
    );
    let out = "";
    const reading = (async () => {
      for await (const chunk of p.stdout) out += new TextDecoder().decode(chunk);
    })();
    const waitFor = async (what: string, ok: () => boolean) => {
      const deadline = Date.now() + 30_000;
      while (!ok()) {
        if (Date.now() > deadline || p.exitCode !== null)
          throw new Error(`${what}; terminal: ${JSON.stringify(out)}`);
        await Bun.sleep(20);
      }
    };
    // The session is open (and so kubectl's terminal raw) once the pod has the exec.
    await waitFor("no exec reached the pod", () => kube.execs().length > before);
    p.stdin.write("helo\x7flo\r");
    await p.stdin.flush();
    await waitFor("the line did not come back", () => out.includes("lo\r\nhello\r\n"));
    p.stdin.write("\x04");
    await p.stdin.flush();
    expect(await p.exited).toBe(0);
    await reading;
    // The echo (with the erase drawn as backspace-space-backspace), then cat's copy on the next line.
    expect(out).toContain("helo\b \blo\r\nhello\r\n");
    expect(kube.execs().at(-1)?.params.tty).toBe(true);
  }, 90_000);

  test("exec sh -c 'exit 3' exits 3 and relays stderr", async () => {
    const r = await kubectl("admin", ["exec", "web-1", "--", "sh", "-c", "echo out; echo oops >&2; exit 3"]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toContain("oops\n");
    expect(r.stderr).toContain("command terminated with exit code 3");
  });

  test("exec of an unknown command exits 127, of a missing pod says NotFound", async () => {
    const r = await kubectl("admin", ["exec", "web-0", "--", "no-such-tool"]);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain("command not found");
    const missing = await kubectl("admin", ["exec", "ghost", "--", "echo", "hi"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('pods "ghost" not found');
  });

  test("logs -f keeps streaming new lines until killed", async () => {
    const started = Date.now();
    const out = await kubectlUntil("admin", ["logs", "-f", "web-2"], (o) => o.split("\n").length > 8);
    const lines = out.trim().split("\n");
    expect(lines[0]).toBe("[web-2] 0 starting");
    expect(lines.length).toBeGreaterThanOrEqual(8);
    expect(lines.some((l) => l.includes("tick at"))).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test("port-forward tunnels HTTP and raw TCP to the simulated pod", async () => {
    const proc = Bun.spawn(["kubectl", "port-forward", "web-0", ":80"], {
      env: kubectlEnv("admin"),
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const reader = proc.stdout.getReader();
      let out = "";
      const deadline = Date.now() + 10_000;
      while (!/127\.0\.0\.1:(\d+) -> 80/.test(out) && Date.now() < deadline) {
        const chunk = await Promise.race([
          reader.read(),
          Bun.sleep(deadline - Date.now()).then(() => undefined),
        ]);
        if (!chunk || chunk.done) break;
        out += new TextDecoder().decode(chunk.value);
      }
      const port = Number(/127\.0\.0\.1:(\d+) -> 80/.exec(out)?.[1]);
      expect(port).toBeGreaterThan(0);
      const bodies = await Promise.all(
        [1, 2, 3].map(async (i) => (await fetch(`http://127.0.0.1:${port}/${i}`)).text()),
      );
      expect(bodies).toEqual(["hello from web-0\n", "hello from web-0\n", "hello from web-0\n"]);
      const echoed = await new Promise<string>((resolve, reject) => {
        let got = "";
        void Bun.connect({
          hostname: "127.0.0.1",
          port,
          socket: {
            open: (s) => void s.write("ping over the tunnel\n"),
            data: (s, d) => {
              got += d.toString();
              if (got.endsWith("\n")) {
                s.end();
                resolve(got);
              }
            },
            error: (_s, e) => reject(e),
          },
        });
        setTimeout(() => reject(new Error(`echo timed out (${got})`)), 5000);
      });
      expect(echoed).toBe("ping over the tunnel\n");
      // One tunnel; kubectl opened an error and a data stream for each of the four connections.
      expect(kube.portForwards()).toEqual([{ pod: "web-0", streams: 8 }]);
    } finally {
      proc.kill();
      await proc.exited;
    }
  });

  test("a principal without an access entry must log in", async () => {
    const r = await kubectl("stranger", ["get", "pods"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("You must be logged in to the server");
    const refused = kube.requests().filter((q) => q.status === 401);
    expect(refused.length).toBeGreaterThan(0);
  });

  test("impersonation is refused without the cluster admin policy and allowed with it", async () => {
    const devSelf = await kubectl("dev", ["get", "pods", "-o", "name"]);
    expect(devSelf.stdout).toContain("pod/web-0");
    // With discovery cached (as above), kubectl prints the Status message; on a cold cache real kubectl
    // fails already in discovery and prints "Error from server (Forbidden): unknown".
    const dev = await kubectl("dev", ["get", "pods", "--as=bob"]);
    expect(dev.code).toBe(1);
    expect(dev.stderr).toContain(
      'users "bob" is forbidden: User "dev-user" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
    expect(kube.requests().at(-1)).toMatchObject({ status: 403, user: "dev-user", callerArn: DEV.arn });

    kube.resetRequests();
    const admin = await kubectl("admin", ["get", "pods", "--as=bob", "--as-group=devs", "--as-group=qa"]);
    expect(admin.code).toBe(0);
    const list = kube.requests().find((q) => q.path === "/api/v1/namespaces/default/pods");
    expect(list?.user).toBe("bob");
    expect(list?.groups).toEqual(["devs", "qa", "system:authenticated"]);
    expect(list?.impersonatedBy).toBe(DEFAULT_PRINCIPAL.arn);
  });
  test("auth whoami and auth can-i (protobuf bodies) report the effective identity", async () => {
    const me = await kubectl("admin", ["auth", "whoami", "-o", "json"]);
    expect(me.stderr).toBe("");
    const review = JSON.parse(me.stdout) as {
      status: { userInfo: { username: string; groups: string[]; extra: Record<string, string[]> } };
    };
    expect(review.status.userInfo.username).toBe(DEFAULT_PRINCIPAL.arn);
    expect(review.status.userInfo.extra.arn).toEqual([DEFAULT_PRINCIPAL.arn]);
    const bob = await kubectl("admin", ["auth", "whoami", "--as=bob", "--as-group=devs"]);
    expect(bob.stdout).toMatch(/Username\s+bob\n/);
    expect(bob.stdout).toMatch(/Groups\s+\[devs system:authenticated\]/);

    const table: [keyof typeof kubeconfigs, string[], string][] = [
      ["admin", [], "yes"],
      ["dev", [], "no"],
      ["admin", ["--as=bob"], "no"],
      ["admin", ["--as=bob", "--as-group=system:masters"], "yes"],
    ];
    for (const [who, extra, answer] of table) {
      const r = await kubectl(who, ["auth", "can-i", "impersonate", "users", ...extra]);
      expect({ who, extra, answer: r.stdout.trim().split(" ")[0] }).toEqual({ who, extra, answer });
    }
  });
});

describe("wire details over fetch", () => {
  const call = async (path: string, init: RequestInit & { token?: string } = {}) => {
    const token = init.token ?? (await eksToken(sim.aws.url, "alpha", DEFAULT_PRINCIPAL));
    const headers = new Headers(init.headers);
    if (token) headers.set("Authorization", `Bearer ${token}`);
    return fetch(`${kube.endpoint}${path}`, { ...init, headers, tls: { ca: kube.caPem } });
  };

  test("tokens are refused for a foreign host, a long expiry, a bad signature, or a different cluster", async () => {
    const good = await eksToken(sim.aws.url, "alpha", DEFAULT_PRINCIPAL);
    const url = new URL(Buffer.from(good.slice("k8s-aws-v1.".length), "base64url").toString());
    const retoken = (u: URL) => `k8s-aws-v1.${Buffer.from(u.toString()).toString("base64url")}`;
    const foreign = new URL(url);
    foreign.host = "sts.amazonaws.com";
    const long = new URL(url);
    long.searchParams.set("X-Amz-Expires", "3600");
    const cases: [string, string][] = [
      ["foreign host", retoken(foreign)],
      ["expiry over 900 s", retoken(long)],
      [
        "wrong secret",
        await eksToken(sim.aws.url, "alpha", {
          accessKeyId: DEFAULT_PRINCIPAL.accessKeyId,
          secretAccessKey: "nope",
        }),
      ],
      ["token for another cluster", await eksToken(sim.aws.url, "beta", DEFAULT_PRINCIPAL)],
      ["not an EKS token", "abc"],
    ];
    for (const [why, token] of cases) {
      const res = await call("/api/v1/namespaces/default/pods", { token });
      expect({ why, status: res.status }).toEqual({ why, status: 401 });
      expect(((await res.json()) as { reason: string }).reason).toBe("Unauthorized");
    }
    expect((await call("/api/v1/namespaces/default/pods", { token: good })).status).toBe(200);
    expect((await call("/version", { token: "" })).status).toBe(200);
  });

  test("a verified token is cached briefly; access entries are looked up on every request", async () => {
    const token = await eksToken(sim.aws.url, "alpha", DEV);
    sim.aws.state.resetCalls();
    for (let i = 0; i < 3; i++) expect((await call("/api/v1/namespaces", { token })).status).toBe(200);
    expect(sim.aws.state.calls().filter((c) => c.action === "sts:GetCallerIdentity").length).toBe(1);
    const who = await call("/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      method: "POST",
      token,
      body: "{}",
      headers: { "Content-Type": "application/json" },
    });
    expect(
      ((await who.json()) as { status: { userInfo: { username: string; groups: string[] } } }).status
        .userInfo,
    ).toMatchObject({
      username: "dev-user",
      groups: ["devs", "system:authenticated"],
    });
  });

  test("an assumed-role session (token with X-Amz-Security-Token) maps through the role's access entry", async () => {
    const sts = new STSClient({
      region: "us-east-1",
      endpoint: sim.aws.url,
      credentials: {
        accessKeyId: DEFAULT_PRINCIPAL.accessKeyId,
        secretAccessKey: DEFAULT_PRINCIPAL.secretAccessKey,
      },
    });
    const { Credentials: c } = await sts.send(
      new AssumeRoleCommand({ RoleArn: GATEWAY_ROLE, RoleSessionName: "gw-1" }),
    );
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error("no session credentials");
    const token = await eksToken(sim.aws.url, "alpha", {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
    });
    expect(Buffer.from(token.slice(11), "base64url").toString()).toContain("X-Amz-Security-Token=");
    kube.resetRequests();
    const res = await call("/api/v1/namespaces/default/pods", {
      token,
      headers: { "Impersonate-User": "alice" },
    });
    expect(res.status).toBe(200);
    expect(kube.requests()[0]).toMatchObject({
      user: "alice",
      impersonatedBy: `arn:aws:sts::${ACCOUNT}:assumed-role/kubeport-gateway/gw-1`,
      callerArn: `arn:aws:sts::${ACCOUNT}:assumed-role/kubeport-gateway/gw-1`,
    });
  });

  test("impersonation carries uid and extra (percent-encoded keys); groups without a user are refused", async () => {
    const whoami = (headers: Record<string, string>) =>
      call("/apis/authentication.k8s.io/v1/selfsubjectreviews", {
        method: "POST",
        body: "{}",
        headers: { "Content-Type": "application/json", ...headers },
      });
    const res = await whoami({
      "Impersonate-User": "bob",
      "Impersonate-Uid": "u-1",
      "Impersonate-Extra-acme.com%2fteam": "blue",
    });
    expect(((await res.json()) as { status: { userInfo: unknown } }).status.userInfo).toEqual({
      username: "bob",
      uid: "u-1",
      groups: ["system:authenticated"],
      extra: { "acme.com/team": ["blue"] },
    });
    const noUser = await whoami({ "Impersonate-Group": "devs" });
    expect(noUser.status).toBe(400);
  });

  test("lists page with limit and continue, as objects and as Table", async () => {
    const first = (await (await call("/api/v1/namespaces/default/pods?limit=2")).json()) as k8s.V1PodList;
    expect(first.items.map((p) => p.metadata?.name)).toEqual(["web-0", "web-1"]);
    const cont = first.metadata?._continue ?? (first.metadata as { continue?: string }).continue;
    expect(cont).toBeTruthy();
    const accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    const rest = (await (
      await call(`/api/v1/namespaces/default/pods?limit=2&continue=${cont}`, { headers: { Accept: accept } })
    ).json()) as {
      kind: string;
      rows: { cells: string[] }[];
      metadata: { continue?: string };
    };
    expect(rest.kind).toBe("Table");
    expect(rest.rows.map((r) => r.cells[0])).toEqual(["web-2"]);
    expect(rest.metadata.continue).toBeUndefined();
  });

  test("a watch from a compacted resourceVersion is 410 Gone; a current one streams events", async () => {
    const rv = kube.store.resourceVersion;
    kube.store.compact();
    kube.addPod("default", "after-compact");
    const gone = await call(`/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv - 1}`);
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { reason: string }).reason).toBe("Expired");
    const res = await call(
      `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Dafter-compact&timeoutSeconds=1`,
    );
    const text = await res.text();
    const events = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; object: k8s.V1Pod });
    expect(events.map((e) => [e.type, e.object.metadata?.name])).toEqual([["ADDED", "after-compact"]]);
    kube.deletePod("default", "after-compact");
  });

  test("aggregated discovery is answered when asked, legacy otherwise", async () => {
    const agg = await call("/apis", {
      headers: {
        Accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
      },
    });
    expect(agg.headers.get("content-type")).toBe(
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    );
    expect(((await agg.json()) as { kind: string }).kind).toBe("APIGroupDiscoveryList");
    expect(((await (await call("/api")).json()) as { kind: string }).kind).toBe("APIVersions");
  });

  test("SPDY upgrades (exec and port-forward) get a clear 400 Status", async () => {
    const spdy = await call("/api/v1/namespaces/default/pods/web-0/exec?command=ls&stdout=true", {
      method: "POST",
      headers: {
        Upgrade: "SPDY/3.1",
        Connection: "Upgrade",
        "X-Stream-Protocol-Version": "v4.channel.k8s.io",
      },
    });
    expect(spdy.status).toBe(400);
    expect(((await spdy.json()) as { message: string }).message).toContain("does not speak SPDY");
    // kubectl 1.30 (and any client forced onto SPDY) upgrades with a POST; only the WebSocket tunnel is served.
    const pf = await call("/api/v1/namespaces/default/pods/web-0/portforward", {
      method: "POST",
      headers: {
        Upgrade: "SPDY/3.1",
        Connection: "Upgrade",
        "X-Stream-Protocol-Version": "portforward.k8s.io",
      },
    });
    expect(pf.status).toBe(400);
    expect(((await pf.json()) as { message: string }).message).toContain("only over WebSocket");
  });

  test("SelfSubjectAccessReview allows impersonation only to cluster admins", async () => {
    const review = {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { verb: "impersonate", resource: "users" } },
    };
    const ask = async (token: string) =>
      (
        (await (
          await call("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
            method: "POST",
            token,
            body: JSON.stringify(review),
            headers: { "Content-Type": "application/json" },
          })
        ).json()) as {
          status: { allowed: boolean };
        }
      ).status.allowed;
    expect(await ask(await eksToken(sim.aws.url, "alpha", DEFAULT_PRINCIPAL))).toBe(true);
    expect(await ask(await eksToken(sim.aws.url, "alpha", DEV))).toBe(false);
    expect(sim.aws.state.accessEntryFor(kube.clusterArn, DEFAULT_PRINCIPAL.arn)?.policies).toContain(
      ADMIN_POLICY,
    );
  });

  test("RBAC holds a caller that is not a cluster admin: an impersonate-only group can impersonate and nothing else", async () => {
    kube.rbac.put({
      kind: "ClusterRole",
      metadata: { name: "kubeport-impersonator" },
      rules: [{ apiGroups: [""], resources: ["users", "groups", "serviceaccounts"], verbs: ["impersonate"] }],
    });
    kube.rbac.put({
      kind: "ClusterRoleBinding",
      metadata: { name: "kubeport-impersonator" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "kubeport-impersonator" },
      subjects: [{ kind: "Group", name: "kubeport", apiGroup: "rbac.authorization.k8s.io" }],
    });
    const token = await eksToken(sim.aws.url, "alpha", IMPERSONATOR);
    kube.resetRequests();
    const direct = await call("/api/v1/namespaces/default/pods", { token });
    expect(direct.status).toBe(403);
    expect(((await direct.json()) as { message: string }).message).toContain(
      `cannot list resource "pods" in API group ""`,
    );
    const exec = await call("/api/v1/namespaces/default/pods/web-0/exec?command=ls", {
      token,
      method: "POST",
    });
    expect(exec.status).toBe(403);
    // Discovery and the version answer every authenticated caller, as system:discovery allows.
    expect((await call("/api", { token })).status).toBe(200);
    const asBob = await call("/api/v1/namespaces/default/pods", {
      token,
      headers: { "Impersonate-User": "bob", "Impersonate-Group": "devs" },
    });
    expect(asBob.status).toBe(200);
    expect(kube.requests().at(-1)).toMatchObject({
      user: "bob",
      impersonatedBy: expect.any(String),
      status: 200,
    });
    // Without the binding the same caller may not impersonate either.
    const binding = kube.rbac.get("ClusterRoleBinding", "kubeport-impersonator")!;
    const del = await call("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubeport-impersonator", {
      method: "DELETE",
    });
    expect(del.status).toBe(200);
    const refused = await call("/api/v1/namespaces/default/pods", {
      token,
      headers: { "Impersonate-User": "bob" },
    });
    expect(refused.status).toBe(403);
    kube.rbac.put(binding);
  });

  test("ClusterRoles and bindings over REST: create, conflict, replace, get, list", async () => {
    const path = "/apis/rbac.authorization.k8s.io/v1/clusterroles";
    const role = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "viewer" },
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }],
    };
    const post = (body: unknown) =>
      call(path, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "Content-Type": "application/json" },
      });
    expect((await post(role)).status).toBe(201);
    expect((await post(role)).status).toBe(409);
    const put = await call(`${path}/viewer`, {
      method: "PUT",
      body: JSON.stringify({ ...role, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["list"] }] }),
      headers: { "Content-Type": "application/json" },
    });
    expect(put.status).toBe(200);
    expect(
      ((await (await call(`${path}/viewer`)).json()) as { rules: { verbs: string[] }[] }).rules[0]?.verbs,
    ).toEqual(["list"]);
    const list = (await (await call(path)).json()) as { items: { metadata: { name: string } }[] };
    expect(list.items.map((i) => i.metadata.name)).toContain("viewer");
    // A caller with no access entry is not even authenticated.
    const dev = await call(path, { token: await eksToken(sim.aws.url, "alpha", STRANGER) });
    expect(dev.status).toBe(401);
  });
});

describe("@kubernetes/client-node against the simulated EKS API server", () => {
  test("lists, watches a create/delete, and execs with an exit code", async () => {
    const caFile = join(dir, "ca.pem");
    writeFileSync(caFile, kube.caPem);
    const { code, stdout, stderr } = await spawnCaptured(
      [process.execPath, join(import.meta.dir, "client-node-probe.ts"), kubeconfigs.admin],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile }, timeoutMs: 20_000 },
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const seen = JSON.parse(stdout) as {
      listed: string[];
      events: string[];
      exec: { stdout: string; status: k8s.V1Status };
    };
    expect(seen.listed).toEqual(expect.arrayContaining(["web-0", "web-1", "web-2"]));
    expect(seen.events).toEqual(["ADDED probe Pending", "MODIFIED probe Running", "DELETED probe Running"]);
    expect(seen.exec.stdout).toBe("hi there\n");
    expect(seen.exec.status.reason).toBe("NonZeroExitCode");
    expect(seen.exec.status.details?.causes).toEqual([{ reason: "ExitCode", message: "4" }]);
    expect(
      kube
        .requests()
        .some((q) => q.method === "POST" && q.path === "/api/v1/namespaces/default/pods" && q.status === 201),
    ).toBe(true);
  }, 60_000);
});
