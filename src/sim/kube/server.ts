// startKubeSim: one simulated EKS Kubernetes API server (Bun.serve over TLS with its own CA).
import type { Server, ServerWebSocket } from "bun";
import type { Logger } from "../../lib/log.ts";
import { silentLogger } from "../../lib/log.ts";
import { createCa, issueServerCert } from "../../lib/x509.ts";
import {
  type AccessEntryLookup,
  AuthError,
  type Authenticator,
  applyImpersonation,
  createAuthenticator,
  type RequestIdentity,
} from "./auth.ts";
import { chooseProtocol, type ExecParams, ExecSession, execParams } from "./exec.ts";
import { type LiveKind, LiveStreams } from "./live-streams.ts";
import { PodFileSystems } from "./pod-files.ts";
import { PORTFORWARD_PROTOCOL, PortForwardSession } from "./portforward.ts";
import { Rbac, requestAttributes } from "./rbac.ts";
import { PUBLIC_PATHS, route } from "./routes.ts";
import { failure, json, statusResponse, unauthorized } from "./status.ts";
import { type AddPodOptions, type KubeObject, ObjectStore } from "./store.ts";

export interface KubeSimOptions {
  clusterName: string;
  clusterArn: string;
  /** The AWS simulator's URL; tokens must presign a GetCallerIdentity on this host. */
  awsUrl: string;
  accessEntryFor: AccessEntryLookup;
  gitVersion?: string;
  log?: Logger;
  /** Sim-only: `false` skips authentication and acts as a cluster admin (impersonation still applies). */
  auth?: boolean;
  /** Delay before a created pod turns Running. */
  podStartMs?: number;
  /** How many requests `requests()` keeps (newest); default 10000. */
  maxRecorded?: number;
}

/** One request as the simulated API server saw it, for tests to assert who acted. */
export interface RecordedRequest {
  at: number;
  method: string;
  path: string;
  query: string;
  /** The effective Kubernetes user (impersonated when impersonatedBy is set); undefined when unauthenticated. */
  user?: string;
  groups?: string[];
  impersonatedBy?: string;
  callerArn?: string;
  status: number;
  userAgent?: string;
  /** kubectl's `Kubectl-Command` header (e.g. "kubectl exec"). */
  kubectlCommand?: string;
  /** The client's TCP port: tells which connection (a proxy's, a gateway's) the request came on. */
  clientPort?: number;
}

export interface ExecRecord {
  params: ExecParams;
  user: string;
  resizes: { Width: number; Height: number }[];
}

export interface KubeSim {
  clusterName: string;
  clusterArn: string;
  endpoint: string;
  caPem: string;
  /** The CA as EKS reports it: base64 of the PEM. */
  caData: string;
  store: ObjectStore;
  /** ClusterRoles and ClusterRoleBindings (callers that are not cluster admins are held to them). */
  rbac: Rbac;
  /** Pods, sorted; all namespaces when `ns` is omitted. */
  pods(ns?: string): KubeObject[];
  addPod(ns: string, name: string, opts?: AddPodOptions): KubeObject;
  /** True when the pod existed. */
  deletePod(ns: string, name: string): boolean;
  requests(): RecordedRequest[];
  resetRequests(): void;
  execs(): ExecRecord[];
  /** port-forward tunnels opened so far, with the number of SPDY streams each carried (2 per connection). */
  portForwards(): { pod: string; streams: number }[];
  /** Streams open now: watches, log follows, exec/attach and port-forward connections. */
  liveStreams(): Record<LiveKind, number>;
  close(): Promise<void>;
}

type WsData =
  | { kind: "exec"; params: ExecParams; session?: ExecSession; closed?: () => void }
  | { kind: "portforward"; pod: string; session?: PortForwardSession; closed?: () => void };

/** The identity of every request when authentication is off (`auth: false`). */
const SIM_ADMIN: RequestIdentity = {
  caller: {
    arn: "",
    username: "kubernetes-admin",
    groups: ["system:masters", "system:authenticated"],
    policies: [],
  },
  user: "kubernetes-admin",
  groups: ["system:masters", "system:authenticated"],
};

const ANONYMOUS: RequestIdentity = {
  caller: { arn: "", username: "system:anonymous", groups: ["system:unauthenticated"], policies: [] },
  user: "system:anonymous",
  groups: ["system:unauthenticated"],
};

/** Starts a simulated EKS API server on 127.0.0.1 (port 0) with a fresh CA. */
export async function startKubeSim(opts: KubeSimOptions): Promise<KubeSim> {
  const log = (opts.log ?? silentLogger).child({ sim: "kube", cluster: opts.clusterName });
  const gitVersion = opts.gitVersion ?? "v1.32.4";
  const ca = await createCa(`${opts.clusterName} kubernetes CA`);
  const cert = await issueServerCert(ca, {
    commonName: "kube-apiserver",
    dnsNames: ["localhost", "kubernetes"],
    ipAddresses: ["127.0.0.1"],
  });
  const store = new ObjectStore();
  const podFiles = new PodFileSystems();
  const recorded: RecordedRequest[] = [];
  const maxRecorded = opts.maxRecorded ?? 10_000;
  const execs: ExecRecord[] = [];
  const portForwardSessions: PortForwardSession[] = [];
  const rbac = new Rbac();
  // Impersonating a user needs `impersonate` on users (and on each group asked for), as in Kubernetes.
  const mayImpersonate = (self: RequestIdentity, user: string, groups: string[]) =>
    rbac.allows(self, { verb: "impersonate", apiGroup: "", resource: "users", name: user }) &&
    groups.every((g) =>
      rbac.allows(self, { verb: "impersonate", apiGroup: "", resource: "groups", name: g }),
    );
  const live = new LiveStreams();
  const authenticator: Authenticator =
    opts.auth === false
      ? { authenticate: async (headers) => applyImpersonation(headers, SIM_ADMIN) }
      : createAuthenticator({
          clusterName: opts.clusterName,
          clusterArn: opts.clusterArn,
          awsUrl: opts.awsUrl,
          accessEntryFor: opts.accessEntryFor,
          mayImpersonate,
        });

  const clientPorts = new WeakMap<Request, number>();
  const record = (req: Request, url: URL, status: number, id?: RequestIdentity) => {
    recorded.push({
      at: Date.now(),
      method: req.method,
      path: url.pathname,
      query: url.search.replace(/^\?/, ""),
      ...(id ? { user: id.user, groups: id.groups, callerArn: id.caller.arn || undefined } : {}),
      ...(id?.impersonatedBy ? { impersonatedBy: id.impersonatedBy } : {}),
      status,
      ...(clientPorts.has(req) ? { clientPort: clientPorts.get(req)! } : {}),
      ...(req.headers.get("user-agent") ? { userAgent: req.headers.get("user-agent") ?? "" } : {}),
      ...(req.headers.get("kubectl-command")
        ? { kubectlCommand: req.headers.get("kubectl-command") ?? "" }
        : {}),
    });
    // Benchmarks send many requests; keep the newest.
    if (recorded.length > maxRecorded) recorded.splice(0, recorded.length - maxRecorded);
  };

  async function handle(req: Request, server: Server<WsData>): Promise<Response | undefined> {
    // Read now: once a WebSocket upgrade is done, the request no longer knows its peer.
    const peer = server.requestIP(req)?.port;
    if (peer) clientPorts.set(req, peer);
    const url = new URL(req.url);
    let identity: RequestIdentity;
    try {
      // Like EKS, /version and the health checks answer anonymous callers; a bad token is still a 401.
      identity =
        !req.headers.has("authorization") && PUBLIC_PATHS.has(url.pathname) && opts.auth !== false
          ? ANONYMOUS
          : await authenticator.authenticate(req.headers);
    } catch (err) {
      const e = err instanceof AuthError ? err : new AuthError(401, String(err));
      log.debug({ path: url.pathname, reason: e.message }, "authentication refused");
      record(req, url, e.code, e.identity);
      if (e.code === 401) return unauthorized();
      if (e.code === 403) return statusResponse(403, "Forbidden", e.message, e.details);
      return statusResponse(400, "BadRequest", e.message);
    }
    // Impersonated identities are not held to RBAC here (the gateway's roles decided what they
    // reach); the caller itself is, unless it is a cluster admin.
    const attrs =
      identity === ANONYMOUS || identity.impersonatedBy
        ? undefined
        : requestAttributes(
            req.method,
            url.pathname.replace(/\/+$/, ""),
            ["true", "1"].includes(url.searchParams.get("watch") ?? ""),
            (req.headers.get("upgrade") ?? "") !== "",
          );
    if (attrs && !rbac.allows(identity, attrs)) {
      const [resource, sub] = attrs.resource.split("/");
      const message = `${attrs.resource}${attrs.name ? ` "${attrs.name}"` : ""} is forbidden: User "${identity.user}" cannot ${attrs.verb} resource "${resource}"${sub ? `/${sub}` : ""} in API group "${attrs.apiGroup}" at the cluster scope`;
      record(req, url, 403, identity);
      return statusResponse(403, "Forbidden", message, {
        ...(attrs.name ? { name: attrs.name } : {}),
        kind: resource,
      });
    }
    const ws = wsUpgrade(req, url, identity, server);
    if (ws !== false) {
      record(req, url, ws ? ws.status : 101, identity);
      return ws;
    }
    let res: Response;
    try {
      res = await route(req, url, {
        store,
        rbac,
        identity,
        gitVersion,
        podStartMs: opts.podStartMs ?? 300,
        live,
      });
    } catch (err) {
      log.error({ err, path: url.pathname }, "simulator route failed");
      res = json(failure(500, "InternalError", `simulator error: ${(err as Error).message}`), 500);
    }
    record(req, url, res.status, identity);
    return res;
  }

  /** false: not an exec/attach/port-forward WebSocket request; undefined: upgraded; a Response: refused. */
  function wsUpgrade(
    req: Request,
    url: URL,
    id: RequestIdentity,
    server: Server<WsData>,
  ): Response | undefined | false {
    if ((req.headers.get("upgrade") ?? "").toLowerCase() !== "websocket" || req.method !== "GET")
      return false;
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)$/.exec(url.pathname);
    if (!m) return false;
    const [, ns = "", name = "", kind] = m;
    const pod = store.pod(ns, name);
    if (!pod) return statusResponse(404, "NotFound", `pods "${name}" not found`, { name, kind: "pods" });
    if (kind === "portforward") {
      const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
      if (!offered.includes(PORTFORWARD_PROTOCOL)) return false;
      const headers = new Headers({ "Sec-WebSocket-Protocol": PORTFORWARD_PROTOCOL });
      return server.upgrade(req, { headers, data: { kind: "portforward", pod: name } })
        ? undefined
        : statusResponse(400, "BadRequest", "WebSocket upgrade failed");
    }
    const protocol = chooseProtocol(req.headers.get("sec-websocket-protocol"));
    if (!protocol)
      return statusResponse(
        400,
        "BadRequest",
        "none of the offered WebSocket subprotocols is supported (v5.channel.k8s.io, v4.channel.k8s.io)",
      );
    const params = execParams(kind as "exec" | "attach", ns, name, url.searchParams, protocol);
    const containers = ((pod.spec?.containers ?? []) as { name: string }[]).map((c) => c.name);
    if (!url.searchParams.get("container") && containers[0]) params.container = containers[0];
    if (!containers.includes(params.container)) {
      return statusResponse(400, "BadRequest", `container ${params.container} is not valid for pod ${name}`);
    }
    if (kind === "exec" && params.command.length === 0)
      return statusResponse(400, "BadRequest", "you must specify at least 1 command");
    execs.push({ params, user: id.user, resizes: [] });
    // Headers object, not a plain record: oven-sh/bun #18243.
    const ok = server.upgrade(req, {
      headers: new Headers({ "Sec-WebSocket-Protocol": protocol }),
      data: { kind: "exec", params },
    });
    return ok ? undefined : statusResponse(400, "BadRequest", "WebSocket upgrade failed");
  }

  const server: Server<WsData> = Bun.serve<WsData>({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: cert.certPem, key: cert.keyPem },
    idleTimeout: 0,
    fetch: handle,
    websocket: {
      open(ws: ServerWebSocket<WsData>) {
        const data = ws.data;
        data.closed = live.open(data.kind);
        if (data.kind === "portforward") {
          data.session = new PortForwardSession((bytes) => ws.sendBinary(bytes), data.pod);
          portForwardSessions.push(data.session);
          return;
        }
        const session = new ExecSession(
          ws as ServerWebSocket<unknown>,
          data.params,
          podFiles.of(data.params.namespace, data.params.pod),
        );
        data.session = session;
        const rec = execs.findLast((e) => e.params === data.params);
        if (rec) rec.resizes = session.resizes;
        session.start();
      },
      message(ws: ServerWebSocket<WsData>, msg: string | Buffer) {
        // Text frames are not part of the channel protocols; binary only.
        if (typeof msg !== "string") ws.data.session?.onMessage(new Uint8Array(msg));
      },
      close(ws: ServerWebSocket<WsData>) {
        ws.data.closed?.();
        if (ws.data.kind === "exec") ws.data.session?.onClose();
      },
    },
  });

  const endpoint = `https://127.0.0.1:${server.port}`;
  log.debug({ endpoint }, "kube simulator listening");
  return {
    clusterName: opts.clusterName,
    clusterArn: opts.clusterArn,
    endpoint,
    caPem: ca.certPem,
    caData: Buffer.from(ca.certPem).toString("base64"),
    store,
    rbac,
    pods: (ns) => store.listPods(ns),
    addPod: (ns, name, o) => store.addPod(ns, name, o),
    deletePod: (ns, name) => store.deletePod(ns, name) !== undefined,
    requests: () => [...recorded],
    resetRequests: () => {
      recorded.length = 0;
    },
    execs: () => [...execs],
    portForwards: () => portForwardSessions.map((p) => ({ pod: p.pod, streams: p.streamsOpened })),
    liveStreams: () => live.counts(),
    close: async () => {
      await server.stop(true);
    },
  };
}
