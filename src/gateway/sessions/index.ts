// Open streams and their revocation: who holds each exec/attach/port-forward/watch/logs -f stream,
// and ending it when the token expires, the user or their access goes, or a lock targets it.
export {
  type AccessCheck,
  type AccessCheckOptions,
  createAccessCheck,
  expiredRevocation,
  type Revocation,
  type StreamRequest,
  type StreamSubject,
  shutdownRevocation,
  streamRequest,
} from "./access-check.ts";
export { errorEvent, type RevocableBody, revocableBody, revocationStatus } from "./http-stream.ts";
export {
  describeLockTarget,
  type LockSubject,
  lockInForce,
  lockMatches,
  lockMessage,
  unlockedClusters,
} from "./locks.ts";
export { createOpenStreams, type OpenStream, type OpenStreams, type StreamKind } from "./open-streams.ts";
export { createRevoker, type RecheckScope, type Revoker, type RevokerOptions } from "./revoker.ts";
