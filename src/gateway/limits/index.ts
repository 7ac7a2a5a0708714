// Limits: what one client may cost the gateway (rates, open streams, WebSocket bytes).
export { addressKey } from "./client-address.ts";
export { createGatewayLimits, type GatewayLimits } from "./gateway-limits.ts";
export {
  chargeAddress,
  isStream,
  type LimitedRequest,
  limitAddress,
  limitStreams,
  limitUser,
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
