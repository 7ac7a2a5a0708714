// A logging HTTP proxy for tests, on 127.0.0.1 port 0: CONNECT tunnels (what kubeport uses for
// https/wss and its node clients) and absolute-form requests (what fetch sends for http:// targets).
// Every request is logged with the local port of the connection the proxy opened to the target, so
// a test can match what reached a server against what went through the proxy. Host names can be
// mapped (to reach a loopback server by a name nobody else resolves), and CONNECT can be refused.
import net from "node:net";

export interface ProxyLogEntry {
  method: string;
  /** host:port for CONNECT, the absolute URL otherwise. */
  target: string;
  /** Proxy-Authorization as received. */
  authorization?: string;
  /** The local port of the proxy's connection to the target (unset when it could not connect). */
  upstreamPort?: number;
  /** HTTP status the proxy answered. */
  status: number;
}

export interface ConnectProxy {
  url: string;
  port: number;
  log: ProxyLogEntry[];
  /** Local ports of every connection the proxy made to a target. */
  upstreamPorts(): Set<number>;
  stop(): Promise<void>;
}

export interface ConnectProxyOptions {
  /** Where a host name really is (default: the name itself; "localhost" and names → 127.0.0.1 via map). */
  hosts?: Record<string, string>;
  /** Answer CONNECT with this status instead of tunnelling (e.g. 403). */
  refuse?: number;
}

/** Starts the proxy. */
export async function startConnectProxy({
  hosts = {},
  refuse,
}: ConnectProxyOptions = {}): Promise<ConnectProxy> {
  const log: ProxyLogEntry[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => {});
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      client.off("data", onData);
      client.pause();
      const head = buf.subarray(0, end).toString("latin1").split("\r\n");
      const [method = "", target = ""] = head[0]!.split(" ");
      const auth = head.find((l) => /^proxy-authorization:/i.test(l))?.replace(/^[^:]*:\s*/, "");
      const entry: ProxyLogEntry = {
        method,
        target,
        status: 0,
        ...(auth ? { authorization: auth } : {}),
      };
      log.push(entry);
      let host: string;
      let port: number;
      let forwardHead: Buffer | undefined;
      if (method === "CONNECT") {
        const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
        host = m?.[1] ?? "";
        port = Number(m?.[2]);
      } else {
        // Absolute form: forward the request with its path only, as a plain proxy does.
        const u = new URL(target);
        host = u.hostname.replace(/^\[|\]$/g, "");
        port = Number(u.port || 80);
        head[0] = `${method} ${u.pathname}${u.search} ${head[0]!.split(" ")[2]}`;
        // One request a connection, so each one is logged: the target closes after answering.
        const kept = head.filter((l) => !/^(proxy-|connection:|keep-alive:)/i.test(l));
        forwardHead = Buffer.from(`${[...kept, "Connection: close"].join("\r\n")}\r\n\r\n`, "latin1");
      }
      if (refuse && method === "CONNECT") {
        entry.status = refuse;
        client.end(`HTTP/1.1 ${refuse} Refused by test proxy\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      const upstream = net.connect(port, hosts[host] ?? host);
      sockets.add(upstream);
      upstream.on("close", () => sockets.delete(upstream));
      upstream.once("error", () => {
        if (entry.status === 0) {
          entry.status = 502;
          client.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        } else client.destroy();
      });
      upstream.once("connect", () => {
        entry.upstreamPort = upstream.localPort;
        entry.status = 200;
        if (forwardHead) upstream.write(Buffer.concat([forwardHead, buf.subarray(end + 4)]));
        else {
          client.write("HTTP/1.1 200 Connection established\r\n\r\n");
          const rest = buf.subarray(end + 4);
          if (rest.length) upstream.write(rest);
        }
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    };
    client.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    upstreamPorts: () => new Set(log.flatMap((e) => (e.upstreamPort ? [e.upstreamPort] : []))),
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An address where nothing listens (a port just released): a dead proxy. */
export async function deadProxyUrl(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
