// Red-team harness: an API-server stand-in that records every request it receives (what reached
// upstream is what a finding is judged by), and a gateway with real auth over it.
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import type { Backend, Resource } from "../../src/registry/index.ts";
import { cluster, startTestGateway, type TestGateway } from "../gateway/fixture.ts";
import { startTlsUpstream } from "../helpers/tls-upstream.ts";

export interface Hit {
  method: string;
  /** Raw path + query as upstream received it. */
  target: string;
  /** The path as an API server decodes it. */
  path: string;
  /** The query as Go's url.ParseQuery reads it (what kube-apiserver's handlers see). */
  query: URLSearchParams;
  headers: Headers;
  body: string;
  /** The body as bytes (protobuf). */
  bytes: Uint8Array;
}

export interface RecordingUpstream {
  url: string;
  caPem: string;
  hits: Hit[];
  /** Watch streams upstream still has open. */
  openWatches(): number;
  /** Sends one watch event (a line) on every open watch. */
  emit(event: unknown): void;
  close(): Promise<void>;
}

const enc = new TextEncoder();

/**
 * Go's url.ParseQuery (Go ≥ 1.17): pairs split on "&"; a pair holding ";" is dropped, and so is one
 * whose name or value is not valid percent-encoding; "+" is a space.
 */
export function goQuery(search: string): URLSearchParams {
  const out = new URLSearchParams();
  for (const pair of search.replace(/^\?/, "").split("&")) {
    if (pair === "" || pair.includes(";")) continue;
    const eq = pair.indexOf("=");
    const [k, v] = eq < 0 ? [pair, ""] : [pair.slice(0, eq), pair.slice(eq + 1)];
    const name = goUnescape(k);
    const value = goUnescape(v);
    if (name !== undefined && value !== undefined) out.append(name, value);
  }
  return out;
}

/** Go's QueryUnescape: "%" must be followed by two hex digits (any byte), "+" is a space. */
function goUnescape(s: string): string | undefined {
  if (/%(?![0-9a-fA-F]{2})/.test(s)) return undefined;
  const bytes = Buffer.from(
    s
      .replaceAll("+", " ")
      .replace(/%([0-9a-fA-F]{2})/g, (_, h) => String.fromCharCode(Number.parseInt(h, 16))),
    "latin1",
  );
  return new TextDecoder().decode(bytes);
}

/** The API server's reading of a query flag (apimachinery Convert_Slice_string_To_bool). */
const kubeTrue = (v: string | null) => v !== null && v !== "0" && v.toLowerCase() !== "false";

export const pod = (namespace: string, name: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace, resourceVersion: "1" },
});

/**
 * Answers as an API server would, by the decoded URL: a watch (one ADDED event per pod, then held
 * open) when the decoded query says watch; a PodList for a collection GET; "proxied" for …/proxy;
 * 201 with the body for POST.
 */
export async function startRecordingUpstream(
  pods: [string, string][] = [
    ["default", "web-0"],
    ["default", "secret-pod"],
  ],
): Promise<RecordingUpstream> {
  const hits: Hit[] = [];
  const watches = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const server = await startTlsUpstream({
    idleTimeout: 0,
    async fetch(req) {
      const u = new URL(req.url);
      const target = req.url.slice(req.url.indexOf("/", 8));
      const bytes =
        req.method === "GET" || req.method === "HEAD"
          ? new Uint8Array(0)
          : new Uint8Array(await req.arrayBuffer());
      const body = new TextDecoder().decode(bytes);
      hits.push({
        method: req.method,
        target,
        path: decodeURIComponent(u.pathname),
        query: goQuery(u.search),
        headers: new Headers(req.headers),
        body,
        bytes,
      });
      if (u.pathname.includes("/proxy")) return new Response("proxied", { status: 200 });
      if (req.method === "POST")
        return new Response(body, { status: 201, headers: { "content-type": "application/json" } });
      if (kubeTrue(goQuery(u.search).get("watch"))) {
        let ctl: ReadableStreamDefaultController<Uint8Array>;
        return new Response(
          new ReadableStream<Uint8Array>({
            start(c) {
              ctl = c;
              watches.add(c);
              for (const [ns, name] of pods)
                c.enqueue(enc.encode(`${JSON.stringify({ type: "ADDED", object: pod(ns, name) })}\n`));
            },
            cancel() {
              watches.delete(ctl);
            },
          }),
          { headers: { "content-type": "application/json" } },
        );
      }
      return Response.json({
        kind: "PodList",
        apiVersion: "v1",
        metadata: { resourceVersion: "1" },
        items: pods.map(([ns, name]) => pod(ns, name)),
      });
    },
  });
  return {
    url: server.url,
    caPem: server.caPem,
    hits,
    openWatches: () => watches.size,
    emit(event) {
      for (const c of watches) c.enqueue(enc.encode(`${JSON.stringify(event)}\n`));
    },
    async close() {
      for (const c of watches) {
        try {
          c.close();
        } catch {}
      }
      await server.stop();
    },
  };
}

export const now = new Date().toISOString();

/** A role reaching env=dev clusters as group `developers`, with these kubernetes_resources. */
export function resourceRole(
  name: string,
  allow: Record<string, unknown>[],
  deny: Record<string, unknown>[] = [],
): Resource {
  return {
    kind: "role",
    version: "v1",
    metadata: { name },
    spec: {
      allow: {
        kubernetes_labels: { env: "dev" },
        kubernetes_groups: ["developers"],
        kubernetes_resources: allow,
      },
      ...(deny.length ? { deny: { kubernetes_resources: deny } } : {}),
    },
  } as Resource;
}

export const user = (name: string, roles: string[]): Resource =>
  ({ kind: "user", version: "v1", metadata: { name }, spec: { roles, created: now } }) as Resource;

export interface Rig {
  up: RecordingUpstream;
  gw: TestGateway;
  /** A kubeport user token for `name`. */
  token(name: string): Promise<string>;
  /** Upstream hits from here on (call before the attack). */
  mark(): () => Hit[];
  close(): Promise<void>;
}

/** The recording upstream as cluster "c" (env=dev) behind a gateway with real auth and these resources. */
export async function startRig(
  resources: Resource[],
  opts: { proxyYaml?: string; backend?: Backend; idleTimeoutSec?: number } = {},
): Promise<Rig> {
  const up = await startRecordingUpstream();
  const gw = await startTestGateway({
    realAuth: true,
    clusters: [cluster("c", up.url, up.caPem)],
    resources,
    ...(opts.proxyYaml ? { proxyYaml: opts.proxyYaml } : {}),
    ...(opts.backend ? { backend: opts.backend } : {}),
    ...(opts.idleTimeoutSec ? { idleTimeoutSec: opts.idleTimeoutSec } : {}),
  });
  return {
    up,
    gw,
    token: (name) =>
      issueUserToken(gw.backend, { user: name, issuer: kubeportIssuer({ public_addr: "localhost:3080" }) }),
    mark() {
      const from = up.hits.length;
      return () => up.hits.slice(from);
    },
    async close() {
      await gw.close();
      await up.close();
    },
  };
}

/** Polls `cond` until true or `ms` passes (generous deadlines: the machine is shared). */
export async function waitFor(cond: () => boolean, ms = 20_000, step = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await Bun.sleep(step);
  }
  return cond();
}
