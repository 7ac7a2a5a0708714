// Egress through an HTTP proxy (HTTPS_PROXY / HTTP_PROXY / NO_PROXY) for every outbound connection.
export {
  awsChainInit,
  awsRequestHandler,
  EgressHttpAgent,
  EgressHttpsAgent,
  egressAgentPair,
  egressAgents,
} from "./agents.ts";
export { createEgress, type Egress, type ProxyServer, processEgress, proxyName, redact } from "./egress.ts";
export { egressFetch, explainProxied, fetchProxy } from "./fetch.ts";
export { bypassesProxy, type NoProxyRule, parseNoProxy } from "./no-proxy.ts";
export {
  connectRequest,
  openTunnel,
  ProxyError,
  parseConnectReply,
  proxyConnectFailure,
  tunnelRefused,
} from "./tunnel.ts";
