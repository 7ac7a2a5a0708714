// A loopback TCP proxy in front of one server, able to cut a connection after the server answered
// but before the client got the answer: how a reply is lost in a failover or a network blip.
import type { Socket, TCPSocketListener } from "bun";

export interface TcpProxy {
  port: number;
  /** The next answer the server sends closes that client connection instead of reaching it. */
  dropNextReply(): void;
  stop(): void;
}

interface Pair {
  client: Socket<Pair>;
  server?: Socket<Pair>;
  pending: Uint8Array[];
}

/** Listens on 127.0.0.1:0 and forwards every connection to 127.0.0.1:`target`. */
export async function startTcpProxy(target: number): Promise<TcpProxy> {
  let drop = false;
  const listener: TCPSocketListener<Pair> = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        const pair: Pair = { client, pending: [] };
        client.data = pair;
        Bun.connect<Pair>({
          hostname: "127.0.0.1",
          port: target,
          data: pair,
          socket: {
            open(server) {
              pair.server = server;
              for (const b of pair.pending) server.write(b);
              pair.pending = [];
            },
            data(_server, chunk) {
              if (drop) {
                drop = false;
                pair.client.end();
                pair.server?.end();
                return;
              }
              pair.client.write(chunk);
            },
            close() {
              pair.client.end();
            },
            error() {
              pair.client.end();
            },
          },
        }).catch(() => client.end());
      },
      data(client, chunk) {
        const pair = client.data;
        if (pair.server) pair.server.write(chunk);
        else pair.pending.push(new Uint8Array(chunk));
      },
      close(client) {
        client.data?.server?.end();
      },
    },
  });
  return {
    port: listener.port,
    dropNextReply: () => {
      drop = true;
    },
    stop: () => listener.stop(true),
  };
}
