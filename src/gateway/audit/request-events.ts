// The audit event of one request: kube.request for what the cluster answered (or the gateway, for
// a 400/404/429/5xx), auth (T3007W) for a 401 or 403, with the refusal's reason and who refused.
import { isIP } from "node:net";
import { decodeJwt } from "jose";
import {
  AUTH_FAILURE,
  type AuditEvent,
  type AuthFailureEvent,
  KUBE_REQUEST,
  type KubeRequestEvent,
} from "../../audit/index.ts";
import type { Grant, Identity } from "../identity.ts";
import { refusalOf } from "../refusal.ts";
import type { RequestInfo } from "../request-info.ts";

/** What the chain knows of a request when it is answered. */
export interface RequestFacts {
  req: Request;
  started: number;
  identity?: Identity;
  /** The cluster, as served or (refused before that) as the path names it. */
  cluster?: string;
  /** The upstream path as the client sent it (percent-encoded, no query). */
  path: string;
  info?: RequestInfo;
  grant?: Grant;
  /** Client address (client-address.ts). */
  addr?: string;
}

/** Fields shared by both event kinds, set only when present (this runs once per request). */
function common(f: RequestFacts, ev: AuditEvent & Record<string, unknown>, hostname: string | undefined) {
  const { identity, grant, info } = f;
  if (hostname) ev.server_hostname = hostname;
  if (identity) {
    ev.user = identity.user;
    ev.roles = identity.roles;
    if (identity.tokenId) ev.token_id = identity.tokenId;
  }
  if (f.addr) ev["addr.remote"] = f.addr;
  if (f.cluster) ev.kubernetes_cluster = f.cluster;
  if (grant) {
    ev.kubernetes_users = grant.kubernetesUsers.slice(0, 1);
    ev.kubernetes_groups = grant.kubernetesGroups;
  }
  if (info?.resourceRequest) {
    if (info.groupVersion) ev.resource_api_group = info.groupVersion;
    if (info.namespace) ev.resource_namespace = info.namespace;
    if (info.resource) ev.resource_kind = info.resource;
    if (info.name) ev.resource_name = info.name;
    if (info.subresource) ev.resource_subresource = info.subresource;
  }
}

/** The moment a request was answered, as requestEvent records it (the event may be made later). */
export interface Answered {
  /** Date.now() then. */
  at: number;
  /** performance.now() then. */
  ended: number;
  /** The client's `kubectl-command` header, read while the request is live. */
  kubectlCommand: string | null;
}

/** The moment `req` is answered: call it then, and make its event whenever (requestEvent). */
export function answered(req: Request): Answered {
  return { at: Date.now(), ended: performance.now(), kubectlCommand: req.headers.get("kubectl-command") };
}

/** A request the cluster answered (T3009I), at `when` (default: now). */
export function requestEvent(
  f: RequestFacts,
  status: number,
  bytesOut: number,
  hostname?: string,
  when: Answered = answered(f.req),
): KubeRequestEvent {
  const ev: KubeRequestEvent = {
    event: KUBE_REQUEST.event,
    code: KUBE_REQUEST.code,
    time: new Date(when.at).toISOString(),
    uid: crypto.randomUUID(),
    proto: "kube",
    request_path: f.path,
    verb: f.req.method,
    response_code: status,
    latency_ms: Math.round(when.ended - f.started),
    bytes_out: bytesOut,
  };
  common(f, ev as KubeRequestEvent & Record<string, unknown>, hostname);
  if (f.info?.verb) ev.kube_verb = f.info.verb;
  if (when.kubectlCommand) ev.kubectl_command = when.kubectlCommand;
  return ev;
}

/** The token's `jti` as the (refused) token claims it; never the token. */
function claimedTokenId(req: Request): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "");
  if (!m || m[1]!.length > 16_384) return undefined;
  try {
    const jti = decodeJwt(m[1]!).jti;
    return typeof jti === "string" ? jti.slice(0, 128) : undefined;
  } catch {
    return undefined;
  }
}

/** A refusal the gateway answered itself: its event, and the key and owner it is aggregated by. */
export function refusalEvent(
  f: RequestFacts,
  err: unknown,
  status: number,
  message: string,
  hostname?: string,
): { key: string; owner: string; ev: AuthFailureEvent | KubeRequestEvent } {
  const { reason, deniedBy } = refusalOf(err, status);
  const auth = status === 401 || status === 403;
  const base = {
    code: auth ? AUTH_FAILURE.code : KUBE_REQUEST.code,
    time: new Date().toISOString(),
    uid: crypto.randomUUID(),
    proto: "kube" as const,
    request_path: f.path,
    verb: f.req.method,
    response_code: status,
    error: message,
    reason,
  };
  const ev = (
    auth
      ? { event: AUTH_FAILURE.event, ...base, success: false }
      : { event: KUBE_REQUEST.event, ...base, latency_ms: Math.round(performance.now() - f.started) }
  ) as AuthFailureEvent | KubeRequestEvent;
  common(f, ev as AuditEvent & Record<string, unknown>, hostname);
  if (deniedBy) (ev as AuthFailureEvent).denied_by = deniedBy;
  if (!f.identity) {
    const jti = claimedTokenId(f.req);
    if (jti) ev.token_id = jti;
  }
  // Nobody authenticated: the address is the identity a flood is counted against.
  const owner = f.identity ? `user:${f.identity.user}` : `addr:${hostOf(f.addr)}`;
  return { key: `${owner}\u0000${f.cluster ?? ""}\u0000${status}\u0000${reason}`, owner, ev };
}

/** The address without its port (one client, many source ports). */
const hostOf = (addr: string | undefined) =>
  addr === undefined || isIP(addr) !== 0
    ? (addr ?? "")
    : addr.startsWith("[")
      ? addr.slice(1, addr.indexOf("]"))
      : addr.replace(/:\d+$/, "");
