// Which requests are long-lived streams, read the way kube-apiserver reads them: one rule for the
// revoker (sessions/), the per-user stream cap (limits/) and the verb in request-info.ts. A request
// this rule misses is still caught by its response (middleware.ts `forward`: a body without a
// Content-Length is tracked and takes a stream slot, whatever the request looked like).
import type { RequestInfo } from "./request-info.ts";
import { parseQuery } from "./request-info-query.ts";

/**
 * A query flag as the API server reads it (apimachinery's Convert_Slice_string_To_bool, used for
 * `watch`, `follow` and every other boolean option): absent is false; otherwise only a first value of
 * "0" or, case-folded (Go's strings.EqualFold), "false" is false. `True`, `yes`, `t`, `2` and the
 * empty string are all true.
 */
export function kubeBool(first: string | null | undefined): boolean {
  if (first === null || first === undefined) return false;
  if (first === "0") return false;
  // EqualFold folds U+017F (long s) to "s"; no other character folds into "false".
  return !(first.length === 5 && first.replace(/\u017f/g, "s").toLowerCase() === "false");
}

/** What kind of long-lived stream a request is: a WebSocket session, a watch, `logs -f`, a proxy. */
export type LongLivedKind = "websocket" | "watch" | "logs" | "proxy";

/** What the rule reads of a request. */
export interface StreamFacts {
  headers: Headers;
  info?: RequestInfo | undefined;
  /** The query string as it goes upstream (`?a=b`, or ""). */
  search?: string | undefined;
}

/**
 * The kind of long-lived stream this request opens, or undefined for a request that answers and ends:
 * - a WebSocket upgrade (exec, attach, port-forward);
 * - verb watch: `?watch=` true by kubeBool on a collection, or the legacy `/watch/` path prefix;
 * - pods/log with `?follow=` true by kubeBool;
 * - any `…/proxy` subresource (pods, services, nodes; `name:port` included): whatever the proxied
 *   endpoint streams.
 */
export function longLivedKind({ headers, info, search }: StreamFacts): LongLivedKind | undefined {
  if (headers.get("upgrade")?.toLowerCase() === "websocket") return "websocket";
  if (!info) return undefined;
  if (info.verb === "watch") return "watch";
  if (info.subresource === "proxy") return "proxy";
  if (info.subresource === "log" && search && kubeBool(parseQuery(search).params.get("follow")))
    return "logs";
  return undefined;
}
