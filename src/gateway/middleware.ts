// The cluster route's chain of named steps: limit (address) → authenticate → limit (user) →
// resolve cluster → refuse locked → authorize → authorize resources (kubernetes_resources) → check
// the request head (one Host, a whole WebSocket handshake) → limit (streams) → strip client
// headers → impersonate → forward.
// Plain functions over one per-request object: Hono's middleware context rebuilt `c.var` on every
// read and its compose added a promise per step, ~15 µs a request together (bench:gateway).
import type { Server, SocketAddress } from "bun";
import {
  badParameter,
  describeError,
  KubeportError,
  notFound,
  RateLimited,
  unauthenticated,
} from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { LogSummary } from "../lib/log-summary.ts";
import type { RecordingStore } from "../recording/index.ts";
import type { KubeCluster } from "../registry/index.ts";
import { answered, type RequestFacts, refusalEvent, requestEvent } from "./audit/index.ts";
import { refusalReason } from "./auth/index.ts";
import { principalsOf } from "./authorize.ts";
import { addressIp, type ClientAddresses, clientAddresses } from "./client-address.ts";
import type { ClusterCache } from "./cluster-cache.ts";
import { parseClusterPath, rawTarget } from "./cluster-path.ts";
import { type FilterPlan, filterResponse } from "./filter/index.ts";
import {
  checkHandshake,
  offersBearerProtocol,
  type SessionKind,
  wantsWebSocket,
} from "./forward/handshake.ts";
import {
  applyImpersonation,
  fixedHeaders,
  type HeaderRecord,
  type ImpersonationPlan,
  planImpersonation,
  setForwarded,
  singleHost,
  stripClientHeaders,
} from "./forward/headers.ts";
import { forwardHttp } from "./forward/http.ts";
import { credentialParams, withoutCredentialParams } from "./forward/query.ts";
import type { WsSession } from "./forward/websocket.ts";
import type { AuditSink, Authenticator, Authorizer, Grant, Identity } from "./identity.ts";
import {
  type ConnectionCounter,
  chargeAddress,
  type FilterAccount,
  type GatewayLimits,
  limitAddress,
  limitFilteredList,
  limitStreams,
  limitUser,
  openFilteredList,
  takeStreamSlot,
} from "./limits/index.ts";
import { longLivedKind } from "./long-lived.ts";
import type { GatewayMetrics } from "./metrics.ts";
import type { RecordMode } from "./recording-mode.ts";
import { AccessRefused } from "./refusal.ts";
import { isSessionRequest, type RequestInfo, requestInfo } from "./request-info.ts";
import { parseQuery } from "./request-info-query.ts";
import { ACCESS_REVIEW, checkResources, RULES_REVIEW, reviewAccess, reviewRules } from "./resources/index.ts";
import { DEFAULT_IDLE_TIMEOUT_SEC } from "./server.ts";
import { relaySession } from "./session-relay.ts";
import {
  lockInForce,
  lockMessage,
  type OpenStream,
  type Revoker,
  revocableBody,
  revocationStatus,
  streamRequest,
} from "./sessions/index.ts";
import { kubeStatus, statusCodeOf, statusOf, statusResponse } from "./status.ts";
import type { UpstreamCredentials } from "./upstream/credentials.ts";
import { upstreamTls } from "./upstream/tls.ts";

/** What the chain learns about one request, step by step. */
export interface ClusterRequest {
  req: Request;
  server?: Server<WsSession>;
  started: number;
  identity?: Identity;
  cluster?: KubeCluster;
  /** Upstream path (still encoded) and query string. */
  path: string;
  search: string;
  info?: RequestInfo;
  grant?: Grant;
  /** The client's one Host header (checkRequest). */
  host?: string;
  /** A WebSocket session's subprotocols to offer upstream (checkRequest); undefined for HTTP. */
  protocols?: string[];
  upstreamHeaders?: HeaderRecord;
  /**
   * An HTTP request's credential and impersonation headers, prebuilt per identity (fixedHeaders);
   * unset with more than one group (upstreamHeaders has them, the groups go one line each).
   */
  fixed?: Headers;
  /** Impersonate-Group values, sent as separate header lines. */
  groups: readonly string[];
  /** The cluster the path names, when the request was refused before it was resolved. */
  requestedCluster?: string;
  /** The client's address (audit), once looked up. */
  addr?: string;
  /** The Authorization header (read once, for the address limit and authenticate). */
  authorization?: string;
  /** The TCP peer (null: none), once looked up. */
  peer?: SocketAddress | null;
  /** Gives back the user's stream slot (set by limitStreams for watches, logs -f, sessions). */
  release?: () => void;
  /** A list or watch that kubernetes_resources restricts: its response is filtered item by item. */
  filter?: FilterPlan;
  /**
   * The grant's roles whose users and groups this request impersonates, when the grant narrows
   * (Grant.narrowing): those whose kubernetes_resources allow it. Undefined: all of them.
   */
  narrowedTo?: string[];
}

/** A request that passed every check: the fields the forward step relies on are set. */
export type Ready = ClusterRequest & {
  identity: Identity;
  cluster: KubeCluster;
  info: RequestInfo;
  grant: Grant;
  upstreamHeaders: HeaderRecord;
};

export interface ChainDeps {
  authenticator: Authenticator;
  authorizer: Authorizer;
  cache: ClusterCache;
  credentials: UpstreamCredentials;
  audit?: AuditSink;
  metrics?: GatewayMetrics;
  log: Logger;
  /** Refusal and failure lines, one per kind per interval with a count. */
  summary: LogSummary;
  limits: GatewayLimits;
  /** WebSocket refusals remembered for kubectl's SPDY retry. */
  refusals?: RecentRefusals;
  /** Open long-lived streams, ended when access goes (sessions/); none: streams are not tracked. */
  sessions?: Revoker;
  /** Client addresses for audit (X-Forwarded-For from trusted proxies only); none: the peer's. */
  addresses?: ClientAddresses;
  /** This gateway's name in audit events (kubeport.nodename). */
  hostname?: string;
  /** Session recording (exec/attach); none: not recorded. */
  recording?: SessionRecording;
  /** Kept-alive connections per address: the idle time a connection gets when its answer ends. */
  connections?: ConnectionCounter;
}

/** Where and how exec/attach sessions are recorded (config `audit`). */
export interface SessionRecording {
  store: RecordingStore;
  /**
   * audit.record_session; roles' record_session options raise or lower it per session
   * (recording-mode.ts). best_effort: a session goes on when its recording fails; strict: it does
   * not start / ends.
   */
  mode: RecordMode;
  maxBytes: number;
  /** A recording failed (metric, log line). */
  onFailure?: (message: string) => void;
}

/** Refused WebSocket attempts, kept briefly so the SPDY retry that follows gets the same answer. */
export interface RecentRefusals {
  remember(key: string, status: number, body: string): void;
  /** The refusal for this key within the last `ttlMs`, removed once taken. */
  take(key: string): { status: number; body: string } | undefined;
}

export function createRecentRefusals(ttlMs = 10_000, max = 1000): RecentRefusals {
  const m = new Map<string, { status: number; body: string; at: number }>();
  return {
    remember(key, status, body) {
      if (m.size >= max) m.clear();
      m.set(key, { status, body, at: performance.now() });
    },
    take(key) {
      const e = m.get(key);
      m.delete(key);
      return e && performance.now() - e.at < ttlMs ? e : undefined;
    },
  };
}

const refusalKey = (r: ClusterRequest) =>
  `${r.identity?.user}\u0000${r.cluster?.metadata.name}\u0000${r.path}${r.search}`;

const isSpdy = (h: Headers) => (h.get("upgrade") ?? "").toLowerCase().startsWith("spdy/");

/**
 * Verifies the bearer token (401 before anything else is looked at). A token verified moments ago
 * is taken without a promise (the auth cache's `verified`); only a fresh one is awaited.
 */
export function authenticate({ authenticator }: ChainDeps, r: ClusterRequest): Promise<void> | undefined {
  const header = r.authorization ?? r.req.headers.get("authorization") ?? undefined;
  if (header === undefined) refuseMisplacedToken(r.req);
  const known = authenticator.verified?.(header);
  if (known) {
    r.identity = known;
    return undefined;
  }
  return authenticator.authenticate(header).then((identity) => {
    r.identity = identity;
  });
}

/**
 * A token only in a WebSocket subprotocol or the query is not accepted: kubeport reads the
 * Authorization header alone (kubectl and client-go always send it, WebSocket exec included), so a
 * second place to look would be a second way in. Say so instead of a bare "no token".
 */
function refuseMisplacedToken(req: Request): void {
  const where = offersBearerProtocol(req.headers)
    ? "a base64url.bearer.authorization.k8s.io WebSocket subprotocol"
    : credentialParams(rawTarget(req.url).search).map((p) => `the ${p} query parameter`)[0];
  if (where)
    throw unauthenticated(`a token in ${where} is not accepted: send it as "Authorization: Bearer <token>"`);
}

/** Where a request URL leads: parsed once per distinct method + URL (kubectl repeats them). */
interface Target {
  cluster: string;
  path: string;
  search: string;
  info: RequestInfo;
}
const targets = new Map<string, Target>();
const MAX_TARGETS = 2000;
/** Longer URLs (label selectors, continue tokens) rarely repeat: parsed each time, never cached. */
const MAX_CACHED_URL = 512;

function targetOf(method: string, url: string): Target {
  const key = `${method} ${url}`;
  const hit = targets.get(key);
  if (hit) return hit;
  const { path: raw, search: clientSearch } = rawTarget(url);
  const { cluster, path } = parseClusterPath(raw);
  const stripped = withoutCredentialParams(clientSearch);
  // One reading of the query, Go's: the verb is decided from it and upstream gets only its pairs.
  const query = parseQuery(stripped);
  let info = requestInfo(method, path, query.params);
  // Except through a proxy: there the query is the proxied server's (the API server passes it on
  // as sent and decides nothing from it), so it goes as the client wrote it.
  const search = info.subresource === "proxy" ? stripped : query.search;
  // A WebSocket GET on exec/attach/portforward creates a session, as the API server sees it.
  if (isSessionRequest(info)) info = { ...info, verb: "create" };
  const t = { cluster, path, search, info };
  if (url.length > MAX_CACHED_URL) return t;
  if (targets.size >= MAX_TARGETS) targets.clear();
  targets.set(key, t);
  return t;
}

/** Splits the raw path safely and finds the served cluster (404 when it is not served). */
export function resolveCluster({ cache }: ChainDeps, r: ClusterRequest): void {
  const t = targetOf(r.req.method, r.req.url);
  r.path = t.path;
  r.search = t.search;
  r.info = t.info;
  r.requestedCluster = t.cluster;
  const cluster = cache.cluster(t.cluster);
  if (!cluster) throw notFound(`kube_cluster "${t.cluster}" not found`);
  r.cluster = cluster;
  r.info = t.info;
}

/** Refuses anyone a lock in force targets (403 with the lock's message), before roles are looked at. */
export function refuseLocked({ cache }: ChainDeps, r: ClusterRequest): void {
  const locks = cache.locks();
  if (locks.length === 0) return;
  const { user, claimedUser, roles } = r.identity!;
  const lock = lockInForce(
    locks,
    { user, claimedUser, roles, cluster: r.cluster!.metadata.name },
    Date.now(),
  );
  if (lock) throw new AccessRefused(lockMessage(lock), "lock", `lock/${lock.metadata.name}`);
}

/** The identity's grant on this cluster (403 when its roles do not reach it, or its token is another cluster's). */
export function authorize({ authorizer }: ChainDeps, r: ClusterRequest): void {
  const scope = r.identity!.clusterScope;
  if (scope !== undefined && scope !== r.cluster!.metadata.name)
    throw new AccessRefused(
      `this token was issued for cluster ${JSON.stringify(scope)}, not ${JSON.stringify(r.cluster!.metadata.name)}`,
      "other_cluster_token",
    );
  r.grant = authorizer.authorize(r.identity!, r.cluster!);
}

/**
 * kubernetes_resources: one object no rule allows is refused here, before anything goes upstream; a
 * restricted list or watch gets the item check forward filters its response with; and when the
 * grant narrows, the request impersonates only the roles that allow it (403 when they grant nobody).
 */
export async function authorizeResources(r: ClusterRequest): Promise<Response | undefined> {
  const grant = r.grant!;
  const narrowing = grant.narrowing;
  const info = r.info!;
  // `kubectl auth can-i --list`: answered from the rules when they restrict (resources/rules-review.ts).
  // (Only a create can be a review: the name is not built for every request.)
  const asked = info.verb === "create" ? `${info.apiGroup}/${info.resource}` : undefined;
  if (asked === RULES_REVIEW && !grant.resources.unrestricted) return reviewRules(grant.resources, r.req);
  // `kubectl auth can-i`: a review the rules refuse is answered here (resources/access-review.ts).
  const check =
    asked === ACCESS_REVIEW
      ? await reviewAccess(grant.resources, r.identity!.user, r.req, narrowing !== undefined)
      : await checkResources(grant.resources, info, r.identity!.user, r.req, narrowing !== undefined);
  if ("answer" in check && check.answer) return check.answer;
  const { request, roles } = check;
  if ("filter" in check && check.filter) r.filter = check.filter;
  if (request) r.req = request;
  if (!narrowing || !roles) return;
  const shares = narrowing.shares.filter((s) => roles.has(s.role));
  const names = shares.map((s) => s.role);
  if (!principalsOf(shares, narrowing.tokenGroups, r.identity!.user))
    throw new AccessRefused(
      `the roles of user ${JSON.stringify(r.identity!.user)} whose kubernetes_resources allow this request (${names.map((n) => JSON.stringify(n)).join(", ")}) grant no kubernetes groups or users on cluster ${JSON.stringify(r.cluster!.metadata.name)}: a request impersonates only the groups and users of the roles that allow it`,
      "no_grant",
    );
  r.narrowedTo = names;
}

/**
 * Refuses, before anything goes upstream, a request whose head is ambiguous (two Host headers) or
 * whose WebSocket handshake is incomplete or offers no Kubernetes subprotocol; keeps the
 * subprotocols to offer upstream (credential-bearing ones left out).
 */
export function checkRequest(r: ClusterRequest): void {
  const h = r.req.headers;
  r.host = singleHost(h);
  if (!wantsWebSocket(h)) return;
  const info = r.info!;
  const kind = isSessionRequest(info) ? (info.subresource as SessionKind) : undefined;
  r.protocols = checkHandshake(r.req.method, h, kind);
}

/** Drops client credentials, every Impersonate-*, X-Remote-* and hop-by-hop header; refuses SPDY. */
export function stripHeaders(refusals: RecentRefusals | undefined, r: ClusterRequest): Response | undefined {
  const h = r.req.headers;
  if (isSpdy(h)) {
    // kubectl retries a refused WebSocket attempt over SPDY: answer with the real refusal.
    const earlier = refusals?.take(refusalKey(r));
    if (earlier)
      return new Response(earlier.body, {
        status: earlier.status,
        headers: { "content-type": "application/json" },
      });
    throw badParameter(spdyRefusal(r.info));
  }
  r.upstreamHeaders = stripClientHeaders(h);
  return undefined;
}

/**
 * Why an SPDY upgrade is refused, naming the kubectl version and the variable for this subresource:
 * exec/attach/cp speak WebSocket from kubectl 1.30 (KUBECTL_REMOTE_COMMAND_WEBSOCKETS), port-forward
 * from 1.31 (KUBECTL_PORT_FORWARD_WEBSOCKETS).
 */
export function spdyRefusal(info: RequestInfo | undefined): string {
  if (info?.subresource === "portforward")
    return "kubeport speaks WebSocket only (SPDY/3.1+portforward.k8s.io over WebSocket): port-forward needs kubectl 1.31 or newer, without KUBECTL_PORT_FORWARD_WEBSOCKETS=false";
  return "kubeport speaks WebSocket only (v5.channel.k8s.io): exec, attach and cp need kubectl 1.30 or newer, without KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false";
}

/**
 * Adds our upstream credentials, the impersonated user/groups/extras and X-Forwarded-*. Without a
 * promise when the credentials are at hand (a cached token: nearly every request).
 */
export function impersonateUpstream(deps: ChainDeps, r: ClusterRequest): Promise<void> | undefined {
  const { credentials } = deps;
  const now = credentials.current?.(r.cluster!);
  if (now !== undefined) return setUpstreamHeaders(deps, r, now ?? undefined);
  return credentials.authorization(r.cluster!).then((auth) => setUpstreamHeaders(deps, r, auth));
}

function setUpstreamHeaders(
  deps: ChainDeps,
  r: ClusterRequest,
  authorization: string | undefined,
): undefined {
  const { identity, grant } = r as Ready;
  const h = r.upstreamHeaders!;
  const plan = impersonationOf(identity, grant, r.narrowedTo);
  r.groups = plan.groups;
  // HTTP with at most one group sends the identity's fixed headers as one prebuilt set (forward:
  // fixedHeaders); the WebSocket client and node:https (several groups, one line each) take one
  // record of every header.
  if (r.protocols || plan.groups.length > 1) applyImpersonation(h, authorization, plan);
  else r.fixed = fixedHeaders(plan, authorization);
  setForwarded(h, {
    // The one address audit records (a trusted proxy's client, else the peer), never a chain: the
    // API server takes every X-Forwarded-For entry as a source IP, the first as the client.
    clientIp: addressIp(clientAddress(deps, r)),
    // Bun.serve here always listens with TLS.
    proto: r.req.url.startsWith("http:") ? "http" : "https",
    host: r.host,
  });
  return undefined;
}

/** The peer's address and port, looked up once per request (a native call each time). */
function peerOf(r: ClusterRequest) {
  if (r.peer === undefined) r.peer = r.server?.requestIP(r.req) ?? null;
  return r.peer;
}

// A grant is reused while the authorizer caches its decision: its headers are planned once (and
// once for each set of its roles a request narrows to).
const plans = new WeakMap<
  Grant,
  { user: string; plan: ImpersonationPlan; narrowed?: Map<string, ImpersonationPlan> }
>();
function impersonationOf(identity: Identity, grant: Grant, narrowedTo?: string[]): ImpersonationPlan {
  let hit = plans.get(grant);
  if (!hit || hit.user !== identity.user) {
    const plan = planImpersonation({
      user: grant.kubernetesUsers[0] ?? identity.user,
      groups: grant.kubernetesGroups,
      extra: { "kubeport-user": [identity.user], "kubeport-roles": grant.roles },
    });
    hit = { user: identity.user, plan };
    plans.set(grant, hit);
  }
  if (!narrowedTo || !grant.narrowing) return hit.plan;
  const key = narrowedTo.join("\n");
  if (!hit.narrowed) hit.narrowed = new Map();
  let plan = hit.narrowed.get(key);
  if (!plan) {
    const set = new Set(narrowedTo);
    const { users, groups } = principalsOf(
      grant.narrowing.shares.filter((s) => set.has(s.role)),
      grant.narrowing.tokenGroups,
      identity.user,
    )!; // authorizeResources refused a set that grants nobody
    plan = planImpersonation({
      user: users[0]!,
      groups,
      extra: { "kubeport-user": [identity.user], "kubeport-roles": narrowedTo },
    });
    hit.narrowed.set(key, plan);
  }
  return plan;
}

const NO_PROXIES = clientAddresses([]);

/**
 * The client's address (X-Forwarded-For only from trusted proxies), found once per request: the
 * address audit records, the address limits charge and the one X-Forwarded-For tells the cluster.
 */
function clientAddress(deps: ChainDeps, r: ClusterRequest): string | undefined {
  r.addr ??= (deps.addresses ?? NO_PROXIES).of(r.req, r.server, peerOf(r));
  return r.addr;
}

/** What audit needs of a request, with the client address. */
function facts(deps: ChainDeps, r: ClusterRequest): RequestFacts {
  clientAddress(deps, r);
  const f: RequestFacts = { req: r.req, started: r.started, path: r.path };
  const cluster = r.cluster?.metadata.name ?? r.requestedCluster;
  if (cluster !== undefined) f.cluster = cluster;
  if (r.identity) f.identity = r.identity;
  if (r.info) f.info = r.info;
  if (r.grant) f.grant = r.grant;
  if (r.addr) f.addr = r.addr;
  return f;
}

/** Records a request the cluster answered in the audit sink and metrics. */
export function auditRequest(deps: ChainDeps, r: ClusterRequest, status: number, bytesOut: number): void {
  const { identity, cluster, info } = r;
  if (!identity) return;
  const clusterName = cluster?.metadata.name ?? "";
  deps.metrics?.requests.inc(clusterName, status, info?.verb ?? "");
  const audit = deps.audit;
  if (!audit) return;
  const f = facts(deps, r);
  if (audit.later) {
    // The event, its JSON and its log line are made with the audit batch, after the response went.
    const when = answered(r.req);
    audit.later(() => requestEvent(f, status, bytesOut, deps.hostname, when));
  } else audit.emit(requestEvent(f, status, bytesOut, deps.hostname));
}

/**
 * Records a request the gateway refused or failed itself (every status it answered, 401 included):
 * refusals are aggregated by the sink per (identity, cluster, reason) per second.
 */
function auditRefusal(deps: ChainDeps, r: ClusterRequest, err: unknown, status: number): void {
  deps.metrics?.requests.inc(r.cluster?.metadata.name ?? "", status, r.info?.verb ?? "");
  if (!deps.audit) return;
  if (!r.path) {
    // Refused before the path was parsed (a bad token): name what it asked for if the path says.
    try {
      const t = targetOf(r.req.method, r.req.url);
      r.path = t.path;
      r.requestedCluster = t.cluster;
      r.info ??= t.info;
    } catch {
      r.path = rawTarget(r.req.url).path;
    }
  }
  const message = err instanceof KubeportError ? err.message : "internal error";
  const { key, owner, ev } = refusalEvent(facts(deps, r), err, status, message, deps.hostname);
  deps.audit.refuse(key, owner, ev);
}

/** Streams the request to the cluster (HTTP) or relays the WebSocket session. */
export async function forward(deps: ChainDeps, ready: ClusterRequest): Promise<Response> {
  const r = ready as Ready;
  const { cluster, path, search, info, identity, server } = r;
  const base = cluster.spec.endpoint.endsWith("/")
    ? cluster.spec.endpoint.replace(/\/+$/, "")
    : cluster.spec.endpoint;
  const tls = upstreamTls(cluster);
  if (r.protocols) {
    if (!server) return statusResponse(kubeStatus(500, "WebSocket needs the Bun server"));
    const addr = facts(deps, r).addr;
    const response = await relaySession(deps, r, {
      server,
      url: base.replace(/^http/, "ws") + path + search,
      tls,
      ...(addr ? { addr } : {}),
    });
    if (response) {
      r.release?.();
      auditRequest(deps, r, response.status, 0);
      deps.refusals?.remember(refusalKey(r), response.status, await response.clone().text());
    }
    // After a successful upgrade Bun owns the socket and ignores this response.
    return response ?? new Response(null);
  }
  // Watches, logs -f and exec-less streams live as long as upstream keeps them: no idle timeout
  // until the answer ends, then the connection's own again (limits/connections.ts): left at 0, Bun
  // would keep the connection open, idle, for ever.
  server?.timeout(r.req, 0);
  // A filtered answer is read as it is: ask for it unencoded (fetch would offer gzip by itself).
  if (r.filter) r.upstreamHeaders["accept-encoding"] = "identity";
  const t0 = performance.now();
  /** Set when the response is refused after upstream answered (no stream slot): not a request it served. */
  let refused = false;
  const upstream = await forwardHttp({
    request: r.req,
    url: base + path + search,
    headers: r.upstreamHeaders,
    ...(r.fixed ? { fixed: r.fixed } : { groups: r.groups }),
    tls,
    onDone: ({ status, bytesOut }) => {
      idleAgain(deps, r);
      r.release?.();
      if (!refused) auditRequest(deps, r, status, bytesOut);
    },
  });
  deps.metrics?.latency.observe(cluster.metadata.name, (performance.now() - t0) / 1000);
  if (!upstream.body) return upstream;
  // Every response that streams is a stream, whatever the request looked like: the ones the rule
  // (long-lived.ts) names, and any body without a Content-Length (forwardHttp keeps it only on a
  // sized body). A revoked user's stream cannot outlive them by being spelled some other way.
  const kind = longLivedKind({ headers: r.req.headers, info, search });
  const streams = kind !== undefined || !upstream.headers.has("content-length");
  if (streams) {
    try {
      // A request the rule did not name took no slot yet: it takes one now, or is refused.
      takeStreamSlot(deps.limits, r);
    } catch (err) {
      refused = true;
      void upstream.body.cancel().catch(() => {});
      throw err;
    }
  }
  let budget: FilterAccount | undefined;
  if (r.filter && !r.filter.watch) {
    try {
      // Filtered lists share one budget of bytes held (limits/filter-budget.ts): 429 when full.
      const declared = upstream.headers.get("content-length");
      budget = openFilteredList(deps.limits, declared === null ? undefined : Number(declared));
      // Belt and braces: a client gone mid-list gives its bytes back even if no one cancels the body.
      const account = budget;
      if (account) r.req.signal.addEventListener("abort", () => account.close(), { once: true });
    } catch (err) {
      refused = true;
      void upstream.body.cancel().catch(() => {});
      throw err;
    }
  }
  const res = r.filter
    ? await filterResponse(upstream, r.filter, {
        ...(budget ? { budget } : {}),
        // upstream is fetch's answer (its chunks are no one else's), and Bun.serve or the revocable
        // body's reader copies what the filter writes.
        reuseBuffers: true,
        onAbort: (err) =>
          deps.summary.log(
            "warn",
            "filtered list aborted",
            { err: err.message, path: r.path },
            "a filtered list failed after its first items were sent: the client's answer was cut",
          ),
      })
    : upstream;
  if (!streams || !deps.sessions || !res.body) return res;
  return tracked(
    deps.sessions,
    () => idleAgain(deps, r),
    {
      kind: kind === "watch" || kind === "logs" || kind === "proxy" ? kind : "stream",
      identity,
      cluster: cluster.metadata.name,
      request: streamRequest(r.grant, info, identity.user),
    },
    res,
  );
}

/**
 * The connection's idle timeout back once its answer is ready or ends (forward switched it off):
 * shorter for a crowded address (limits/connections.ts). Bun applies it when the answer is sent.
 */
function idleAgain(deps: ChainDeps, r: ClusterRequest) {
  r.server?.timeout(r.req, deps.connections ? deps.connections.answered(r.peer) : DEFAULT_IDLE_TIMEOUT_SEC);
}

/** The response with a body the revoker can end (a JSON watch: after an ERROR event). */
function tracked(sessions: Revoker, idle: () => void, stream: Omit<OpenStream, "opened">, res: Response) {
  let untrack: (() => void) | undefined;
  const jsonWatch = stream.kind === "watch" && (res.headers.get("content-type") ?? "").includes("json");
  const s = revocableBody(res.body!, { jsonWatch, onClose: () => untrack?.() });
  untrack = sessions.track(stream, (rev) => {
    // Before the answer ends: once it is sent, the connection's idle timeout can no longer be given
    // back, and it would stay open idle for ever (forward switched it off).
    idle();
    s.end(revocationStatus(rev), { clean: rev.clean === true });
  });
  return new Response(s.body, { status: res.status, headers: res.headers });
}

/**
 * A refusal or failure as a Kubernetes Status, logged and audited like any answered request.
 * Log lines are summarised per kind (one line, then a count per interval): a flood of bad tokens or
 * a cluster that is down writes a few lines, not one per request.
 */
export function errorResponse(deps: ChainDeps, r: ClusterRequest | undefined, err: unknown, path: string) {
  const code = statusCodeOf(err);
  const headers: Record<string, string> = {};
  // Any refusal or failure before someone was authenticated costs the client address a token
  // (limits/stages.ts): a 401, and also a signed token whose name is refused (403) or a failure while
  // verifying it; an address already over its budget (429) is not charged again.
  if (r && (!r.identity || code === 401) && !(err instanceof RateLimited)) chargeAddress(deps.limits, r);
  if (code >= 500) {
    const why = describeError(err);
    deps.summary.log("warn", `${code} ${why}`, { err: why, path }, "gateway request failed");
  } else if (code === 401) {
    const reason = refusalReason(err);
    deps.metrics?.authFailures.inc({ reason });
    deps.summary.log("info", `401 ${reason}`, { reason, err: (err as Error).message, path }, "token refused");
    headers["www-authenticate"] = 'Bearer realm="kubeport"';
  } else if (err instanceof RateLimited) {
    deps.metrics?.limited.inc({ limit: err.limit });
    deps.summary.log(
      "warn",
      `429 ${err.limit}`,
      { limit: err.limit, user: r?.identity?.user, path },
      "request over a limit",
    );
    headers["retry-after"] = String(err.retryAfterSec);
  } else if (deps.log.isLevelEnabled("debug"))
    // Refusals are the common case under a scan: described only when asked for.
    deps.log.debug({ err: describeError(err), path }, "gateway request refused");
  if (r) auditRefusal(deps, r, err, code);
  const status = statusOf(err);
  if (code >= 400 && code < 500) headers.warning = warningHeader(`kubeport: ${status.message}`);
  // kubectl's discovery reads an error's body only when it is text: a JSON Status there prints as
  // "unknown". Only its aggregated-discovery request gets text; every other client a Status.
  if (
    code === 403 &&
    r?.info &&
    isDiscovery(r.path) &&
    r.req.headers.get("accept")?.includes("apidiscovery.k8s.io")
  )
    return new Response(status.message, {
      status: code,
      headers: { ...headers, "content-type": "text/plain; charset=utf-8" },
    });
  return statusResponse(status, headers);
}

/** /api, /api/v1, /apis, /apis/G, /apis/G/V: what kubectl reads before anything else. */
const isDiscovery = (path: string) =>
  /^\/apis?(\/[^/]+){0,2}\/?$/.test(path) && !/^\/api\/[^/]+\/[^/]+/.test(path);

/**
 * A `Warning: 299 - "…"` header: client-go prints every warning of every response, refusals
 * included, so kubectl shows the reason even where it otherwise prints only its own text (a 401
 * becomes "You must be logged in to the server", a refused discovery "unknown"). One line, quoted.
 */
export function warningHeader(text: string): string {
  const line = text
    .replace(/[\r\n]+/g, " ")
    .replace(/[^\x20-\x7e]/g, "?")
    .slice(0, 1024);
  return `299 - "${line.replace(/["\\]/g, "\\$&")}"`;
}

/** The whole chain, in order, for `ANY /v1/clusters/*`. */
export function clusterHandler(
  deps: ChainDeps,
): (req: Request, server?: Server<WsSession>, peer?: SocketAddress | null) => Promise<Response> {
  return async (req, server, peer) => {
    const r: ClusterRequest = { req, server, started: performance.now(), path: "", search: "", groups: [] };
    if (peer !== undefined) r.peer = peer;
    const authorization = req.headers.get("authorization");
    if (authorization !== null) r.authorization = authorization;
    try {
      clientAddress(deps, r);
      limitAddress(deps.limits, r, deps.authenticator);
      const authenticating = authenticate(deps, r);
      if (authenticating) await authenticating;
      limitUser(deps.limits, r);
      resolveCluster(deps, r);
      refuseLocked(deps, r);
      authorize(deps, r);
      // Unrestricted grants (no kubernetes_resources, or the full wildcard) that impersonate the
      // same whatever the request: not even an await.
      if (!r.grant!.resources.unrestricted || r.grant!.narrowing) {
        const answered = await authorizeResources(r);
        if (answered) {
          auditRequest(deps, r, answered.status, 0);
          return answered;
        }
      }
      checkRequest(r);
      limitStreams(deps.limits, r);
      limitFilteredList(deps.limits, r);
      const refused = stripHeaders(deps.refusals, r);
      if (refused) {
        r.release?.();
        return refused;
      }
      const signing = impersonateUpstream(deps, r);
      if (signing) await signing;
      return await forward(deps, r);
    } catch (err) {
      r.release?.();
      idleAgain(deps, r);
      const res = errorResponse(deps, r, err, rawTarget(req.url).path);
      // kubectl retries a refused WebSocket exec over SPDY: it must get this answer, not SPDY's.
      if (deps.refusals && r.protocols)
        deps.refusals.remember(refusalKey(r), res.status, await res.clone().text());
      return res;
    }
  };
}
