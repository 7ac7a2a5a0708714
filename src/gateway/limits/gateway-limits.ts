// Every limit of one gateway, built once from proxy_service.limits and shared by its requests.
import type { LimitsConfig } from "../../config/index.ts";
import { type Clock, systemClock } from "../../lib/clock.ts";
import { createFilterBudget, type FilterBudget } from "./filter-budget.ts";
import { createStreamCounter, type StreamCounter } from "./streams.ts";
import { createTokenBuckets, type TokenBuckets } from "./token-bucket.ts";
import { createWsBudget, type WsBudget, wsCaps } from "./ws-budget.ts";

export interface GatewayLimits {
  readonly config: LimitsConfig;
  /** Per client address: requests answered without an authenticated user. */
  addresses: TokenBuckets;
  /** Per authenticated user: every request. */
  users: TokenBuckets;
  /** Per authenticated user: open streams. */
  streams: StreamCounter;
  /** WebSocket message size and buffered bytes. */
  ws: WsBudget;
  /** Bytes held by filtered lists (kubernetes_resources), over the process. */
  filtered: FilterBudget;
}

/** The limits for `config` (proxy_service.limits). */
export function createGatewayLimits(
  config: LimitsConfig,
  { clock = systemClock }: { clock?: Clock } = {},
): GatewayLimits {
  return {
    config,
    addresses: createTokenBuckets(config.unauthenticated_rate, { clock }),
    users: createTokenBuckets(config.user_rate, { clock }),
    streams: createStreamCounter(config.max_kubernetes_connections),
    ws: createWsBudget(wsCaps(config)),
    filtered: createFilterBudget(config.filtered_list_bytes_total),
  };
}
