// The chain's limit stages: per client address before authenticate, per user after it, and open
// streams per user once the request is known to be one. Each throws RateLimited (429 with
// Retry-After, rendered by the chain's one error path).
import type { Server } from "bun";
import { RateLimited } from "../../lib/errors.ts";
import type { Identity } from "../identity.ts";
import { longLivedKind } from "../long-lived.ts";
import type { RequestInfo } from "../request-info.ts";
import { addressKey } from "./client-address.ts";
import type { GatewayLimits } from "./gateway-limits.ts";

/** What the stages read of a request (the chain's ClusterRequest has these fields). */
export interface LimitedRequest {
  req: Request;
  server?: Server<unknown>;
  identity?: Identity;
  info?: RequestInfo;
  search?: string;
  /**
   * The client's address as audit records it (gateway/client-address.ts: the peer, or from a
   * trusted proxy the X-Forwarded-For client), set by the chain before the limit stages: the address
   * limits charge. Unset: the TCP peer's.
   */
  addr?: string;
  /** The Authorization header, when the chain read it already (one read, one string to hash). */
  authorization?: string;
  /** Set by limitStreams: gives the stream's slot back; called once the stream ends. */
  release?: () => void;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
const clientKey = (r: LimitedRequest) => addressKey(r.addr ?? r.server?.requestIP(r.req)?.address);
/** Users of different issuers never share a budget. */
const userKey = (id: Identity) => `${id.issuer}\u0000${id.user}`;

/**
 * Before authenticate: 429 while this client address has spent its budget of unauthenticated
 * requests. A token verified moments ago (the authenticator's `verified` cache) is a known user,
 * limited per user instead: people behind one NAT are not refused for a neighbour's bad tokens.
 */
export function limitAddress(
  limits: GatewayLimits | undefined,
  r: LimitedRequest,
  authenticator?: { verified?(authorization: string | undefined): unknown },
): void {
  if (!limits) return;
  const header = r.authorization ?? r.req.headers.get("authorization") ?? undefined;
  if (authenticator?.verified?.(header) !== undefined) return;
  const wait = limits.addresses.wait(clientKey(r));
  if (wait > 0)
    throw new RateLimited(
      `too many unauthenticated requests from this address; retry in ${seconds(wait)} s (proxy_service.limits.unauthenticated_rate)`,
      seconds(wait),
      "address_rate",
    );
}

/** A request answered without an authenticated user (refused, or a public path) costs its address a token. */
export function chargeAddress(limits: GatewayLimits | undefined, r: LimitedRequest): void {
  limits?.addresses.charge(clientKey(r));
}

/** After authenticate: 429 when the user is over its request rate. */
export function limitUser(limits: GatewayLimits | undefined, r: LimitedRequest): void {
  if (!limits || !r.identity) return;
  const wait = limits.users.take(userKey(r.identity));
  if (wait > 0)
    throw new RateLimited(
      `too many requests for user ${JSON.stringify(r.identity.user)}; retry in ${seconds(wait)} s (proxy_service.limits.user_rate)`,
      seconds(wait),
      "user_rate",
    );
}

/**
 * Requests that stay open as long as the client likes (long-lived.ts, the revoker's rule too):
 * WebSocket sessions, watches, `logs -f`, proxies.
 */
export function isStream(r: LimitedRequest): boolean {
  return longLivedKind({ headers: r.req.headers, info: r.info, search: r.search }) !== undefined;
}

/** Once authorized: a stream takes one of the user's slots until it ends (429 when none is free). */
export function limitStreams(limits: GatewayLimits | undefined, r: LimitedRequest): void {
  if (!limits || !r.identity || !isStream(r)) return;
  takeStreamSlot(limits, r);
}

/**
 * Takes one of the user's stream slots for `r` (429 when none is free), unless it holds one already:
 * also called by `forward` for a response that turned out to stream (no Content-Length) although
 * the request did not look like a stream.
 */
export function takeStreamSlot(limits: GatewayLimits | undefined, r: LimitedRequest): void {
  if (!limits || !r.identity || r.release) return;
  const release = limits.streams.acquire(userKey(r.identity));
  if (!release) {
    const max = limits.config.max_kubernetes_connections;
    throw new RateLimited(
      `user ${JSON.stringify(r.identity.user)} has ${max} open streams, the most allowed (proxy_service.limits.max_kubernetes_connections); end one and retry`,
      5,
      "streams",
    );
  }
  r.release = release;
}

const filteredListsFull = (limits: GatewayLimits) =>
  new RateLimited(
    `filtered lists (kubernetes_resources) hold ${limits.filtered.total()} bytes, the most this gateway holds for them is ${limits.filtered.cap} (proxy_service.limits.filtered_list_bytes_total); retry in 1 s`,
    1,
    "filtered_lists",
  );

/**
 * Once authorized: a list whose answer the gateway filters (kubernetes_resources; watches are not
 * counted) is refused (429) while filtered lists hold the whole budget — before it goes upstream.
 */
export function limitFilteredList(
  limits: GatewayLimits | undefined,
  r: LimitedRequest & { filter?: { watch: boolean } },
): void {
  if (limits && r.filter && !r.filter.watch && limits.filtered.full()) throw filteredListsFull(limits);
}

/**
 * Once upstream answered a filtered list: its account in the budget, its declared length (when it
 * has one) counted at once; 429 when that does not fit beside the lists already running.
 */
export function openFilteredList(limits: GatewayLimits | undefined, declared: number | undefined) {
  if (!limits) return undefined;
  // Full already (the lists answered since this one went upstream took it): refused unread.
  if (limits.filtered.full()) throw filteredListsFull(limits);
  const account = limits.filtered.open();
  if (declared !== undefined && !account.reserve(declared)) {
    const err = filteredListsFull(limits);
    account.close();
    throw err;
  }
  return account;
}
