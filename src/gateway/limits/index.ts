// Limits: what one client may cost the gateway (rates, open streams, WebSocket bytes).
export { addressKey } from "./client-address.ts";
export { type ConnectionCounter, createConnectionCounter } from "./connections.ts";
export { createFilterBudget, type FilterAccount, type FilterBudget } from "./filter-budget.ts";
export { createGatewayLimits, type GatewayLimits } from "./gateway-limits.ts";
export {
  chargeAddress,
  isStream,
  type LimitedRequest,
  limitAddress,
  limitFilteredList,
  limitStreams,
  limitUser,
  openFilteredList,
  takeStreamSlot,
} from "./stages.ts";
export { createStreamCounter, type StreamCounter } from "./streams.ts";
export { createTokenBuckets, type TokenBuckets } from "./token-bucket.ts";
export {
  createWsBudget,
  PRESSURE_SHARE,
  type WsAccount,
  type WsBudget,
  type WsCaps,
  wsCaps,
} from "./ws-budget.ts";
