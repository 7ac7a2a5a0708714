// The client's WebSocket handshake, checked in full before anything is sent upstream (RFC 6455
// §4.2.1), and the subprotocols that may be offered upstream: the Kubernetes stream protocols
// only, never a credential-bearing one (`base64url.bearer.authorization.k8s.io.<token>`).
import { badParameter } from "../../lib/errors.ts";

/** The subresources served over WebSocket (kubectl exec, attach, cp, port-forward). */
export type SessionKind = "exec" | "attach" | "portforward";

/**
 * The subprotocol browsers use to carry a bearer token (kube-apiserver's WebSocket protocol
 * authenticator reads it). kubeport authenticates from the Authorization header only and never
 * forwards this.
 */
export const BEARER_PROTOCOL_PREFIX = "base64url.bearer.authorization.k8s.io.";

/**
 * What each session kind may offer upstream. exec/attach: the remotecommand channel protocols
 * (kubectl ≥ 1.30 offers only v5.channel.k8s.io; v4…v1 and their base64 forms are what the API
 * server and older clients speak). port-forward: kubectl ≥ 1.31's SPDY tunnel, and the API
 * server's own WebSocket port-forward protocols.
 */
const CHANNEL = /^(?:v[1-9]\.)?(?:base64\.)?channel\.k8s\.io$/;
const PORTFORWARD = /^(?:SPDY\/3\.1\+)?portforward\.k8s\.io$/;
const ALLOWED: Record<SessionKind, (p: string) => boolean> = {
  exec: (p) => CHANNEL.test(p),
  attach: (p) => CHANNEL.test(p),
  portforward: (p) => PORTFORWARD.test(p) || CHANNEL.test(p),
};
const EXPECTED: Record<SessionKind, string> = {
  exec: "v5.channel.k8s.io (or v4 to v1 of channel.k8s.io)",
  attach: "v5.channel.k8s.io (or v4 to v1 of channel.k8s.io)",
  portforward: "SPDY/3.1+portforward.k8s.io, portforward.k8s.io or v4.channel.k8s.io",
};

/** 16 bytes in base64: 22 characters and "==" (RFC 6455 §4.1, item 7). */
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/** Comma-separated header tokens, trimmed and lower-cased. */
const tokens = (value: string | null): string[] =>
  (value ?? "")
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);

/** True when the request asks to upgrade to WebSocket (its Upgrade header lists "websocket"). */
export function wantsWebSocket(h: Headers): boolean {
  const upgrade = h.get("upgrade");
  if (upgrade === null) return false;
  return upgrade.length === 9 ? upgrade.toLowerCase() === "websocket" : tokens(upgrade).includes("websocket");
}

/** The subprotocols a client offered, in order. */
export const offeredProtocols = (h: Headers): string[] =>
  (h.get("sec-websocket-protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);

/** True when the client put a bearer token into a subprotocol. */
export const offersBearerProtocol = (h: Headers): boolean =>
  offeredProtocols(h).some((p) => p.toLowerCase().startsWith(BEARER_PROTOCOL_PREFIX));

/**
 * Checks a WebSocket upgrade request the way the gateway will answer it with `server.upgrade`
 * (GET, Connection: Upgrade, a 16-byte Sec-WebSocket-Key, version 13, and a session subresource
 * offering a subprotocol kubectl uses), and returns the subprotocols to offer upstream, in the
 * client's order: the allowed ones only, so a credential in a subprotocol is dropped here.
 * Throws bad_parameter (400) naming every problem at once. `kind` is undefined when the path is
 * not pods/exec|attach|portforward.
 */
export function checkHandshake(method: string, h: Headers, kind: SessionKind | undefined): string[] {
  const problems: string[] = [];
  if (method !== "GET") problems.push(`the method must be GET, not ${method}`);
  if (!tokens(h.get("connection")).includes("upgrade")) problems.push('Connection must list "Upgrade"');
  const key = h.get("sec-websocket-key");
  if (key === null) problems.push("Sec-WebSocket-Key is missing");
  else if (!KEY.test(key)) problems.push("Sec-WebSocket-Key must be 16 bytes in base64");
  const version = h.get("sec-websocket-version");
  if (version !== "13")
    problems.push(`Sec-WebSocket-Version must be 13, got ${JSON.stringify(version ?? "")}`);
  let protocols: string[] = [];
  if (!kind) problems.push("WebSocket is served for pods/exec, pods/attach and pods/portforward only");
  else {
    protocols = offeredProtocols(h).filter(ALLOWED[kind]);
    if (protocols.length === 0)
      problems.push(`Sec-WebSocket-Protocol must offer ${EXPECTED[kind]} for ${kind}`);
  }
  if (problems.length > 0) throw badParameter(`bad WebSocket handshake: ${problems.join("; ")}`);
  return protocols;
}
