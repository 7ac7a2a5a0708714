// node:http(s) agents that honour the egress settings, for the clients built on node:https: the
// gateway's multi-group requests and the AWS SDK (its NodeHttpHandler takes them as httpAgent /
// httpsAgent). Each connection is routed on its own: NO_PROXY targets connect directly.
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { type Egress, processEgress } from "./egress.ts";
import { openTunnel } from "./tunnel.ts";

type Callback = (err: Error | null, socket?: Duplex) => void;
interface ConnectOptions extends tls.ConnectionOptions {
  host?: string;
  port?: number;
}

const targetOf = (o: ConnectOptions, defaultPort: number) => ({
  host: (o.host ?? "localhost").replace(/^\[|\]$/g, ""),
  port: Number(o.port ?? defaultPort),
});

/** An https.Agent whose connections go through the egress proxy (CONNECT, then TLS to the target). */
export class EgressHttpsAgent extends https.Agent {
  constructor(
    private readonly egress: Egress,
    opts: https.AgentOptions = {},
  ) {
    super({ keepAlive: true, ...opts });
  }

  override createConnection(options: ConnectOptions, callback: Callback): Duplex | undefined {
    const { host, port } = targetOf(options, 443);
    const proxy = this.egress.routeHost(host, port, true);
    if (!proxy) return super.createConnection(options, callback as never) as Duplex;
    openTunnel(proxy, host, port).then(
      (socket) => {
        try {
          // SNI carries a host name only (an IP address there is refused, by node:tls and by servers).
          const wanted = options.servername || host;
          const name = isIP(wanted) ? undefined : wanted;
          const { servername: _, ...rest } = options;
          callback(null, tls.connect({ ...rest, socket, ...(name ? { servername: name } : {}) }));
        } catch (err) {
          socket.destroy();
          callback(err as Error);
        }
      },
      (err: Error) => callback(err),
    );
    return undefined;
  }
}

/** An http.Agent whose connections are CONNECT tunnels through the egress proxy. */
export class EgressHttpAgent extends http.Agent {
  constructor(
    private readonly egress: Egress,
    opts: http.AgentOptions = {},
  ) {
    super({ keepAlive: true, ...opts });
  }

  override createConnection(options: ConnectOptions, callback: Callback): Duplex | undefined {
    const { host, port } = targetOf(options, 80);
    const proxy = this.egress.routeHost(host, port, false);
    if (!proxy) return super.createConnection(options as never, callback as never) as Duplex;
    openTunnel(proxy, host, port).then(
      (socket) => {
        socket.resume();
        callback(null, socket);
      },
      (err: Error) => callback(err),
    );
    return undefined;
  }
}

const agents = new WeakMap<Egress, { httpAgent: http.Agent; httpsAgent: https.Agent }>();

/** The egress agents for `egress`, one pair per settings (so connections are pooled). */
export function egressAgentPair(egress: Egress): { httpAgent: http.Agent; httpsAgent: https.Agent } {
  let pair = agents.get(egress);
  if (!pair) {
    pair = { httpAgent: new EgressHttpAgent(egress), httpsAgent: new EgressHttpsAgent(egress) };
    agents.set(egress, pair);
  }
  return pair;
}

/**
 * `{ httpAgent, httpsAgent }` for a node:http(s) client (the AWS SDK's requestHandler options), or
 * an empty object when no proxy is configured: clients then keep their own defaults.
 */
export function egressAgents(
  egress: Egress = processEgress(),
): { httpAgent: http.Agent; httpsAgent: https.Agent } | Record<string, never> {
  return egress.https || egress.http ? egressAgentPair(egress) : {};
}

/**
 * AWS SDK `requestHandler` options (timeouts …) with the egress agents added, so the SDK's
 * NodeHttpHandler connects through the proxy (and directly to NO_PROXY targets).
 */
export function awsRequestHandler<T extends object>(options: T, egress: Egress = processEgress()) {
  return { ...options, ...egressAgents(egress) };
}

/**
 * `fromNodeProviderChain` init for the clients the chain makes itself (web identity / IRSA and SSO
 * call STS and SSO over HTTPS): the egress agents, when a proxy is configured.
 */
export function awsChainInit(egress: Egress = processEgress()) {
  const agents = egressAgents(egress);
  return "httpsAgent" in agents ? { clientConfig: { requestHandler: agents } } : {};
}
