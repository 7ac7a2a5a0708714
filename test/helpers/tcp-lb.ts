// A TCP load balancer in front of the HA pair's gateways, as HAProxy / an NLB would be set up
// (docs/ha.md "Load balancer"): an HTTP health check of GET /healthz every `checkEveryMs` (one
// failure takes a backend out, one success puts it back), new connections to the first healthy
// backend in order, and a connection that is refused retried on the next one (HAProxy's
// `option redispatch`). TLS passes through; both gateways carry the same certificate.
import type { Socket, TCPSocketListener } from "bun";

export interface LbBackend {
  name: string;
  port: number;
}

export interface TcpLb {
  port: number;
  /** Which backend each accepted connection went to, in order ("-" when none took it). */
  routed: string[];
  healthy(): string[];
  stop(): void;
}

interface Conn {
  client: Socket<Conn>;
  server?: Socket<Conn>;
  pending: Uint8Array[];
}

export async function startTcpLb(
  backends: LbBackend[],
  { caPem, checkEveryMs = 250 }: { caPem: string; checkEveryMs?: number },
): Promise<TcpLb> {
  const up = new Map(backends.map((b) => [b.name, true]));
  let stopped = false;
  const check = async () => {
    while (!stopped) {
      await Promise.all(
        backends.map(async (b) => {
          const ok = await fetch(`https://127.0.0.1:${b.port}/healthz`, {
            tls: { ca: caPem },
            signal: AbortSignal.timeout(1000),
          })
            .then((r) => r.status === 200)
            .catch(() => false);
          up.set(b.name, ok);
        }),
      );
      await Bun.sleep(checkEveryMs);
    }
  };
  void check();
  const routed: string[] = [];

  const connect = (conn: Conn, order: LbBackend[], slot: number) => {
    const [b, ...rest] = order;
    if (!b) {
      routed[slot] = "-";
      conn.client.end();
      return;
    }
    Bun.connect<Conn>({
      hostname: "127.0.0.1",
      port: b.port,
      data: conn,
      socket: {
        open(server) {
          routed[slot] = b.name;
          conn.server = server;
          for (const chunk of conn.pending) server.write(chunk);
          conn.pending = [];
        },
        data(_s, chunk) {
          conn.client.write(chunk);
        },
        close() {
          conn.client.end();
        },
        error() {
          conn.client.end();
        },
      },
    }).catch(() => connect(conn, rest, slot));
  };

  const listener: TCPSocketListener<Conn> = Bun.listen<Conn>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        const conn: Conn = { client, pending: [] };
        client.data = conn;
        const healthy = backends.filter((b) => up.get(b.name));
        // Nothing passes its check: try them all rather than refuse.
        connect(conn, healthy.length ? healthy : backends, routed.push("?") - 1);
      },
      data(client, chunk) {
        const conn = client.data;
        if (conn.server) conn.server.write(chunk);
        else conn.pending.push(new Uint8Array(chunk));
      },
      close(client) {
        client.data?.server?.end();
      },
    },
  });
  return {
    port: listener.port,
    routed,
    healthy: () => backends.filter((b) => up.get(b.name)).map((b) => b.name),
    stop() {
      stopped = true;
      listener.stop(true);
    },
  };
}
