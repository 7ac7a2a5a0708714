// A raw WebSocket exec client (v5.channel.k8s.io) for recording tests: typed input, resizes, stdin
// close, everything it received, and the session id the gateway's audit gave it.
import { AUDIT_STREAM } from "../../src/audit/index.ts";
import type { Backend } from "../../src/registry/index.ts";

export interface ExecClient {
  /** Keystrokes (stdin, channel 0). */
  type(text: string): void;
  stdin(text: string): void;
  resize(cols: number, rows: number): void;
  /** v5's close signal for stdin (channel 255). */
  closeStdin(): void;
  waitOutput(pred: (out: string) => boolean, ms?: number): Promise<string>;
  stdoutBytes(): number;
  exitCode(): number | undefined;
  /** The error channel's message, if any. */
  status(): string | undefined;
  closed: Promise<{ code: number; reason: string }>;
  /** The session id of this exec: the newest session.start whose command matches, from the audit. */
  sid(backend: Backend): Promise<string>;
}

const enc = new TextEncoder();
let opened = 0;

export async function openExec(url: string, token: string, ca: string): Promise<ExecClient> {
  const startedAfter = Date.now() - 1;
  const n = ++opened;
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${token}` },
    protocols: ["v5.channel.k8s.io"],
    tls: { ca },
  } as never);
  ws.binaryType = "arraybuffer";
  let out = "";
  let bytes = 0;
  let status: string | undefined;
  let code: number | undefined;
  const dec = new TextDecoder();
  const waiters = new Set<() => void>();
  ws.addEventListener("message", (e) => {
    const f = new Uint8Array(e.data as ArrayBuffer);
    if (f[0] === 1 || f[0] === 2) {
      bytes += f.length - 1;
      // Keep text only while it is small (the 200 MB test counts bytes).
      if (out.length < 1_000_000) out += dec.decode(f.subarray(1), { stream: true });
    } else if (f[0] === 3) {
      const s = JSON.parse(dec.decode(f.subarray(1))) as {
        status?: string;
        message?: string;
        details?: { causes?: { message?: string }[] };
      };
      status = s.message;
      code = s.status === "Success" ? 0 : Number(s.details?.causes?.[0]?.message ?? Number.NaN);
    }
    for (const w of waiters) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.addEventListener("close", (e) =>
      resolve({ code: (e as CloseEvent).code, reason: (e as CloseEvent).reason }),
    ),
  );
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error(`exec ${n}: WebSocket failed`)));
    closed.then((c) => reject(new Error(`exec ${n}: closed before open (${c.code} ${c.reason})`)));
  });
  const send = (ch: number, data: string) => {
    const b = enc.encode(data);
    const f = new Uint8Array(b.length + 1);
    f[0] = ch;
    f.set(b, 1);
    ws.send(f);
  };
  const command = new URL(url).searchParams.getAll("command");
  return {
    type: (t) => send(0, t),
    stdin: (t) => send(0, t),
    resize: (cols, rows) => send(4, JSON.stringify({ Width: cols, Height: rows })),
    closeStdin: () => ws.send(Uint8Array.of(255, 0)),
    async waitOutput(pred, ms = 20_000) {
      if (pred(out)) return out;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`output never matched; got ${JSON.stringify(out.slice(-300))}`));
        }, ms);
        const check = () => {
          if (!pred(out)) return;
          clearTimeout(t);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
      return out;
    },
    stdoutBytes: () => bytes,
    exitCode: () => code,
    status: () => status,
    closed,
    async sid(backend) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const rows = await backend.readStream(AUDIT_STREAM, { limit: 100_000 });
        const hit = rows
          .map((r) => r.entry as { event?: string; sid?: string; time?: string; initial_command?: string[] })
          .filter(
            (e) =>
              e.event === "session.start" &&
              Date.parse(e.time ?? "") >= startedAfter &&
              JSON.stringify(e.initial_command ?? []) === JSON.stringify(command),
          )
          .at(-1);
        if (hit?.sid) return hit.sid;
        if (Date.now() > deadline) throw new Error(`no session.start for ${command.join(" ")}`);
        await Bun.sleep(50);
      }
    },
  };
}
