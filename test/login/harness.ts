// A gateway with the login service and console, two clusters (dev-1 env=dev, prod-1 env=prod) on a
// recording upstream, roles, and helpers to invite a user and run the kubeport CLI as a person would.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { totpCode } from "../../src/gateway/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import {
  cluster,
  startTestGateway,
  startUpstream,
  type TestGateway,
  type Upstream,
} from "../gateway/fixture.ts";
import { runCliCaptured, spawnCaptured } from "../helpers/cli.ts";

export const MAIN = resolve(import.meta.dir, "../../src/main.ts");
export const PASSWORD = "correct horse battery staple";

export const roles: Resource[] = [
  {
    kind: "role",
    version: "v1",
    metadata: { name: "dev" },
    spec: { allow: { kubernetes_labels: { env: "dev" }, kubernetes_groups: ["developers"] } },
  },
  {
    kind: "role",
    version: "v1",
    metadata: { name: "short" },
    spec: {
      allow: { kubernetes_labels: { env: "dev" }, kubernetes_groups: ["developers"] },
      options: { max_session_ttl: "1h" },
    },
  },
  {
    kind: "role",
    version: "v1",
    metadata: { name: "auditor" },
    spec: {
      allow: { kubernetes_labels: { env: "*" }, kubernetes_groups: ["viewers"], review_recordings: true },
    },
  },
];

export interface LoginWorld {
  gw: TestGateway;
  upstream: Upstream;
  /** host:port the tests reach the gateway at. */
  proxy: string;
  caFile: string;
  close(): Promise<void>;
}

export async function startLoginWorld(opts: { proxyYaml?: string } = {}): Promise<LoginWorld> {
  const upstream = await startUpstream();
  const gw = await startTestGateway({
    realAuth: true,
    web: true,
    clusters: [
      cluster("dev-1", upstream.url, upstream.caPem, { env: "dev" }),
      cluster("prod-1", upstream.url, upstream.caPem, { env: "prod" }),
    ],
    resources: roles,
    ...(opts.proxyYaml ? { proxyYaml: opts.proxyYaml } : {}),
  });
  const caFile = join(gw.dir, "gateway-ca.pem");
  writeFileSync(caFile, gw.gateway.caPem!);
  return {
    gw,
    upstream,
    proxy: new URL(gw.gateway.url).host,
    caFile,
    async close() {
      await gw.close();
      await upstream.close();
    },
  };
}

/** `ctl users add NAME --roles …`: the invite link's path (the link names public_addr; tests reach the gateway by its port). */
export async function inviteUser(w: Pick<LoginWorld, "gw">, name: string, roleList: string): Promise<string> {
  const r = await runCliCaptured(["ctl", "-c", w.gw.configPath, "users", "add", name, "--roles", roleList]);
  if (r.code !== 0) throw new Error(r.stderr);
  const url = /https:\/\/\S+\/web\/invite\/\S+/.exec(r.stdout)?.[0];
  if (!url) throw new Error(`no invite link in: ${r.stdout}`);
  return new URL(url).pathname;
}

const cookieHeader = (res: Response, prior = "") =>
  [prior, ...res.headers.getSetCookie().map((c) => c.split(";")[0])].filter(Boolean).join("; ");

/** Fills the invite page as a browser would; returns the TOTP secret and the answer page. */
export async function acceptInviteByForm(
  w: LoginWorld,
  path: string,
  password = PASSWORD,
): Promise<{ secret: string; status: number; html: string }> {
  const page = await w.gw.fetch(path);
  const html = await page.text();
  const secret = /name="totp_secret" value="([A-Z2-7]+)"/.exec(html)?.[1];
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!secret || !csrf) throw new Error(`not an invite form (${page.status}): ${html.slice(0, 300)}`);
  const res = await w.gw.fetch(path, {
    method: "POST",
    headers: { cookie: cookieHeader(page), "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      csrf,
      totp_secret: secret,
      password,
      confirm: password,
      code: totpCode(secret),
    }),
  });
  return { secret, status: res.status, html: await res.text() };
}

/** A code of the next time step (the current one was spent on the invite: a code is good once). */
export const nextCode = (secret: string, steps = 1) => totpCode(secret, Date.now() + steps * 30_000);

export interface Person {
  home: string;
  kubeconfig: string;
  env: Record<string, string>;
  /** Runs `kubeport ARGS` as a subprocess of this person. */
  kubeport(
    args: string[],
    o?: { stdin?: string; env?: Record<string, string> },
  ): ReturnType<typeof spawnCaptured>;
  kubectl(args: string[], o?: { env?: Record<string, string> }): ReturnType<typeof spawnCaptured>;
  remove(): void;
}

/** A person's machine: their own HOME (~/.kubeport, ~/.kube/config) and PATH with kubectl. */
export function person(): Person {
  const home = mkdtempSync(join(tmpdir(), "kubeport-person-"));
  const kubeconfig = join(home, ".kube", "config");
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    KUBECACHEDIR: join(home, "kcache"),
    NO_PROXY: "127.0.0.1,localhost",
  };
  return {
    home,
    kubeconfig,
    env,
    kubeport: (args, o = {}) =>
      spawnCaptured([process.execPath, MAIN, ...args], {
        env: { ...env, ...(o.env ?? {}) },
        ...(o.stdin !== undefined ? { stdin: o.stdin } : {}),
        timeoutMs: 60_000,
      }),
    kubectl: (args, o = {}) =>
      spawnCaptured(["kubectl", ...args], { env: { ...env, ...(o.env ?? {}) }, timeoutMs: 60_000 }),
    remove: () => rmSync(home, { recursive: true, force: true }),
  };
}
