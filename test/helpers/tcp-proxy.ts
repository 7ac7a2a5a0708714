// A loopback TCP proxy in front of one server, able to cut a connection after the server answered
// but before the client got the answer (how a reply is lost in a failover or a network blip), or to
// go silent on chosen connections (a peer gone without FIN or RST: a zombie connection).
import type { Socket, TCPSocketListener } from "bun";

export interface TcpProxy {
  port: number;
  /** The next answer the server sends closes that client connection instead of reaching it. */
  dropNextReply(): void;
  /**
   * Every open connection that has sent bytes matching `sent` goes silent: nothing more passes
   * either way, nothing is closed. The client side still accepts writes, as a peer behind a dead
   * path would until TCP gives up (minutes later). Later connections pass as usual.
   */
  blackhole(sent: RegExp): void;
  /** Connections blackholed so far. */
  blackholed(): number;
  stop(): void;
}

interface Pair {
  client: Socket<Pair>;
  server?: Socket<Pair>;
  pending: Uint8Array[];
  /** What the client sent so far (first 64 KiB), to match `blackhole`. */
  sent: string;
  silent: boolean;
}

/** Listens on 127.0.0.1:0 and forwards every connection to 127.0.0.1:`target`. */
export async function startTcpProxy(target: number): Promise<TcpProxy> {
  let drop = false;
  let holed = 0;
  const pairs = new Set<Pair>();
  const listener: TCPSocketListener<Pair> = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        const pair: Pair = { client, pending: [], sent: "", silent: false };
        client.data = pair;
        pairs.add(pair);
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
              if (pair.silent) return;
              if (drop) {
                drop = false;
                pair.client.end();
                pair.server?.end();
                return;
              }
              pair.client.write(chunk);
            },
            close() {
              if (!pair.silent) pair.client.end();
            },
            error() {
              if (!pair.silent) pair.client.end();
            },
          },
        }).catch(() => client.end());
      },
      data(client, chunk) {
        const pair = client.data;
        if (pair.sent.length < 65536) pair.sent += Buffer.from(chunk).toString("latin1");
        if (pair.silent) return;
        if (pair.server) pair.server.write(chunk);
        else pair.pending.push(new Uint8Array(chunk));
      },
      close(client) {
        pairs.delete(client.data);
        client.data?.server?.end();
      },
    },
  });
  return {
    port: listener.port,
    dropNextReply: () => {
      drop = true;
    },
    blackhole(sent) {
      for (const p of pairs)
        if (!p.silent && sent.test(p.sent)) {
          p.silent = true;
          holed++;
        }
    },
    blackholed: () => holed,
    stop: () => listener.stop(true),
  };
}
