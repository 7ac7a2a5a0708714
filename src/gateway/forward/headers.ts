// Request/response header rules: drop what the client must not decide (credentials, impersonation,
// front-proxy identity, hop-by-hop), then add our own credentials, impersonation and X-Forwarded-*.
import { badParameter } from "../../lib/errors.ts";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

/**
 * Name prefixes the client never decides upstream: credentials and impersonation, the
 * kube-apiserver front-proxy identity headers (`--requestheader-*-headers`: X-Remote-User,
 * X-Remote-Group, X-Remote-Uid, X-Remote-Extra-*), proxy and forwarding headers (we set our own
 * X-Forwarded-*), and the WebSocket handshake (the upstream client makes its own; the subprotocols
 * it offers come from forward/handshake.ts, where credential-bearing ones are left out).
 */
const CLIENT_NEVER = ["impersonate-", "proxy-", "x-remote-", "x-forwarded-", "sec-websocket-"];
/**
 * Where a client claims its own address. kubeport sets X-Forwarded-For to the address it believes
 * (client-address.ts); kube-apiserver adds X-Real-Ip to an audit event's sourceIPs, and proxies in
 * front of it may read the others, so a client's never goes on.
 */
const CLIENT_ADDRESS = new Set([
  "forwarded",
  "x-real-ip",
  "true-client-ip",
  "x-client-ip",
  "x-cluster-client-ip",
  "cf-connecting-ip",
  "fastly-client-ip",
  "x-original-forwarded-for",
]);
const isClientNever = (n: string) => {
  // Any name with an underscore (nginx and Apache httpd drop them too): a server or proxy that maps
  // `_` to `-` (or both to HTTP_X_REMOTE_USER, as CGI does) would read `Impersonate_User` or
  // `X_Remote_User` as the identity header; kubectl and client-go never send one.
  if (n.includes("_")) return true;
  if (CLIENT_ADDRESS.has(n)) return true;
  for (const p of CLIENT_NEVER) if (n.startsWith(p)) return true;
  return false;
};

function connectionListed(h: Headers): Set<string> | undefined {
  const value = h.get("connection");
  if (!value) return undefined;
  const listed = new Set<string>();
  for (const token of value.split(",")) {
    const t = token.trim().toLowerCase();
    if (t) listed.add(t);
  }
  return listed;
}

/**
 * Upstream request headers as a plain object (lower-case names, one value each): building it costs
 * a fraction of a Headers object's per-call native crossings, and fetch, node:https and the
 * WebSocket client all take it. Repeated client headers arrive joined by Headers iteration.
 */
export type HeaderRecord = Record<string, string>;

/**
 * Copies client headers minus Authorization, every Impersonate-*, X-Remote-*, Proxy-*,
 * X-Forwarded-*, Forwarded, X-Real-IP and the other client-address headers, Sec-WebSocket-*, every
 * name with an underscore, hop-by-hop (Host included: fetch sets the upstream's) and Connection-listed ones.
 */
export function stripClientHeaders(incoming: Headers): HeaderRecord {
  const listed = connectionListed(incoming);
  const out: HeaderRecord = Object.create(null);
  for (const [n, value] of incoming) {
    if (n === "authorization" || isClientNever(n)) continue;
    if (HOP_BY_HOP.has(n) || listed?.has(n)) continue;
    out[n] = value;
  }
  return out;
}

/** host, host:port, [v6]:port — one authority, nothing else (RFC 9110 §7.2). */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?$/;

/**
 * The request's one Host (undefined when it sent none). Two Host lines arrive joined as "a, b":
 * RFC 9112 §3.2 says answer 400, and the second must never reach X-Forwarded-Host.
 */
export function singleHost(h: Headers): string | undefined {
  const host = h.get("host");
  if (host === null) return undefined;
  if (host.includes(",")) throw badParameter("more than one Host header");
  if (!HOST.test(host)) throw badParameter(`invalid Host header ${JSON.stringify(host)}`);
  return host;
}

export interface Impersonation {
  user: string;
  groups: readonly string[];
  /** Extra keys (lower-cased) → values; sent as Impersonate-Extra-<key>, values percent-encoded. */
  extra?: Record<string, readonly string[]>;
}

/** Kubernetes adds this group itself to every impersonated (non-anonymous) user. */
const AUTHENTICATED_GROUP = "system:authenticated";

/** Impersonation headers worked out once per grant: the values to set and the groups to send. */
export interface ImpersonationPlan {
  user: string;
  /** [header name, value] for every Impersonate-Extra-*. */
  extras: [string, string][];
  /** Groups to send as separate `Impersonate-Group` lines (without system:authenticated). */
  groups: string[];
}

/**
 * Encodes extras and de-duplicates groups. Extras are one value each: Kubeport-Roles carries the
 * roles percent-encoded and comma-joined.
 */
export function planImpersonation(who: Impersonation): ImpersonationPlan {
  return {
    user: headerBytes(who.user),
    extras: Object.entries(who.extra ?? {}).map(([key, values]): [string, string] => [
      `impersonate-extra-${encodeURIComponent(key.toLowerCase())}`,
      values.map(encodeURIComponent).join(","),
    ]),
    groups: [...new Set(who.groups)].filter((g) => g !== AUTHENTICATED_GROUP).map(headerBytes),
  };
}

/**
 * A header value as the bytes the API server should read: its UTF-8 encoding, one character per byte
 * (fetch, node:https and ws-client.ts write a header string's characters as single bytes). Go's
 * net/http takes the bytes as they are, and client-go sends an impersonated name as UTF-8: `josé`
 * must arrive as 6A 6F 73 C3 A9, not as Latin-1 E9 (another name), and `李雷` not be refused by fetch.
 * ASCII (nearly every name) is returned as it is.
 */
export function headerBytes(value: string): string {
  if (!/[\u0080-\uffff]/.test(value)) return value;
  return Buffer.from(value, "utf8").toString("latin1");
}

/**
 * Sets Authorization, Impersonate-User and Impersonate-Extra-* on `h` from a plan, and returns the
 * groups to send as separate `Impersonate-Group` lines. They are not put on `h`: Bun's fetch and
 * WebSocket join repeated headers into one "a, b" line, which the API server would read as one group.
 */
export function applyImpersonation(
  h: HeaderRecord,
  authorization: string | undefined,
  plan: ImpersonationPlan,
): string[] {
  if (authorization) h.authorization = authorization;
  h["impersonate-user"] = plan.user;
  for (const [name, value] of plan.extras) h[name] = value;
  return plan.groups;
}

// One Headers object per plan and upstream credential: the plan is cached per grant (middleware.ts),
// the credential changes when it is renewed.
const fixedSets = new WeakMap<ImpersonationPlan, { authorization: string | undefined; headers: Headers }>();

/**
 * The upstream headers that are the same for every request of one identity with at most one group:
 * Authorization (our credential), Impersonate-User, Impersonate-Extra-* and the one Impersonate-Group.
 * More groups go through node:https as separate lines (applyImpersonation then), so a plan with more
 * is refused: a set built for it would drop them. Built once: fetch copies a `Headers` natively,
 * where a plain object's entries are read and checked one by one (~10 µs a request for the six).
 * Callers copy it (`new Headers(fixed)`), never change it.
 */
export function fixedHeaders(plan: ImpersonationPlan, authorization: string | undefined): Headers {
  let hit = fixedSets.get(plan);
  if (!hit || hit.authorization !== authorization) {
    if (plan.groups.length > 1)
      throw new Error(`fixedHeaders: ${plan.groups.length} groups; more than one go as separate lines`);
    const h: HeaderRecord = {};
    applyImpersonation(h, authorization, plan);
    if (plan.groups[0] !== undefined) h["impersonate-group"] = plan.groups[0];
    hit = { authorization, headers: new Headers(h) };
    fixedSets.set(plan, hit);
  }
  return hit.headers;
}

export interface ForwardedInfo {
  clientIp?: string;
  proto: string;
  host?: string;
}

/** Adds X-Forwarded-For/Proto/Host describing the client's request to the gateway. */
export function setForwarded(h: HeaderRecord, { clientIp, proto, host }: ForwardedInfo): HeaderRecord {
  if (clientIp) h["x-forwarded-for"] = clientIp;
  h["x-forwarded-proto"] = proto;
  if (host) h["x-forwarded-host"] = host;
  return h;
}

/**
 * Removes hop-by-hop (and Connection-listed) headers from an upstream response, in place: the
 * upstream Response is then handed to Bun.serve as it is, no second Response or Headers built.
 * Content-Length stays when the body is sized; Bun frames the rest itself.
 */
export function stripResponseHeaders(upstream: Headers): Headers {
  const listed = connectionListed(upstream);
  const drop: string[] = [];
  for (const n of upstream.keys()) if (HOP_BY_HOP.has(n) || listed?.has(n)) drop.push(n);
  for (const n of drop) upstream.delete(n);
  return upstream;
}
