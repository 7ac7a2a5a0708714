// exec and attach over the Kubernetes WebSocket channel protocols (v4/v5.channel.k8s.io).
import type { ServerWebSocket } from "bun";
import type { PodFiles } from "./pod-files.ts";
import { type ProcIO, run } from "./programs.ts";
import { LineDiscipline, outputNewlines } from "./tty.ts";

export const CHANNEL_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;
export type ChannelProtocol = (typeof CHANNEL_PROTOCOLS)[number];

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const RESIZE = 4;
const CLOSE = 255;

/** The best channel protocol among those the client offered, or undefined. */
export function chooseProtocol(offered: string | null): ChannelProtocol | undefined {
  const list = (offered ?? "").split(",").map((s) => s.trim());
  return CHANNEL_PROTOCOLS.find((p) => list.includes(p));
}

export interface ExecParams {
  kind: "exec" | "attach";
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  protocol: ChannelProtocol;
}

/** Reads exec/attach options from the query string the way the apiserver does. */
export function execParams(
  kind: "exec" | "attach",
  namespace: string,
  pod: string,
  q: URLSearchParams,
  protocol: ChannelProtocol,
): ExecParams {
  const flag = (k: string) => q.get(k) === "true" || q.get(k) === "1";
  return {
    kind,
    namespace,
    pod,
    container: q.get("container") ?? "main",
    command: q.getAll("command"),
    stdin: flag("stdin"),
    stdout: flag("stdout"),
    stderr: flag("stderr"),
    tty: flag("tty"),
    protocol,
  };
}

/** One running exec/attach bound to a WebSocket; feed it messages and the close. */
export class ExecSession {
  readonly resizes: { Width: number; Height: number }[] = [];
  private readonly chunks: Uint8Array[] = [];
  private stdinClosed: boolean;
  private waiting: (() => void) | undefined;
  private readonly abort = new AbortController();
  private finished = false;
  /** With a tty: the terminal's line discipline between the client's keys and the program's stdin. */
  private readonly tty: LineDiscipline | undefined;

  constructor(
    private readonly ws: ServerWebSocket<unknown>,
    readonly params: ExecParams,
    private readonly files?: PodFiles,
  ) {
    this.stdinClosed = !params.stdin;
    this.tty = params.tty
      ? new LineDiscipline({
          echo: (bytes) => params.stdout && this.send(STDOUT, bytes),
          line: (bytes) => {
            this.chunks.push(bytes);
            this.wake();
          },
          eof: () => {
            this.stdinClosed = true;
            this.wake();
          },
          interrupt: () => {
            this.stdinClosed = true;
            this.abort.abort();
            this.finish(130);
          },
        })
      : undefined;
  }

  start(): void {
    const p = this.params;
    // A tty has one output stream, and its "\n" moves the cursor to the start of the next line.
    const toTty = (t: string | Uint8Array) =>
      this.send(STDOUT, outputNewlines(typeof t === "string" ? new TextEncoder().encode(t) : t));
    const io: ProcIO = {
      out: (t) => p.stdout && (p.tty ? toTty(t) : this.send(STDOUT, t)),
      err: (t) => (p.tty ? p.stdout && toTty(t) : p.stderr && this.send(STDERR, t)),
      read: () => this.read(),
      signal: this.abort.signal,
      pod: p.pod,
      ...(this.files ? { files: this.files } : {}),
    };
    const program = p.kind === "attach" ? attach(io, p.stdin) : run(p.command, io);
    program.then(
      (code) => this.finish(code),
      (err) => this.finish(126, String(err)),
    );
  }

  /** A binary message from the client: stdin data, a resize, or (v5) a stream close. */
  onMessage(data: Uint8Array): void {
    if (data.length === 0) return;
    const ch = data[0];
    const payload = data.subarray(1);
    if (ch === STDIN && !this.stdinClosed) {
      if (this.tty) this.tty.input(payload);
      else if (payload.length) {
        this.chunks.push(payload.slice());
        this.wake();
      }
    } else if (ch === RESIZE) {
      try {
        this.resizes.push(JSON.parse(new TextDecoder().decode(payload)));
      } catch {
        // a malformed resize is ignored, as the kubelet does
      }
    } else if (ch === CLOSE && this.params.protocol === "v5.channel.k8s.io" && payload[0] === STDIN) {
      this.stdinClosed = true;
      this.wake();
    }
  }

  /** The client went away: stop the program. */
  onClose(): void {
    this.finished = true;
    this.stdinClosed = true;
    this.abort.abort();
    this.wake();
  }

  private read(): Promise<Uint8Array | undefined> {
    return new Promise((resolve) => {
      const tryRead = () => {
        const c = this.chunks.shift();
        if (c) return resolve(c);
        if (this.stdinClosed) return resolve(undefined);
        this.waiting = tryRead;
      };
      tryRead();
    });
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  private send(ch: number, text: string | Uint8Array): void {
    if (this.finished) return;
    const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
    const msg = new Uint8Array(bytes.length + 1);
    msg[0] = ch;
    msg.set(bytes, 1);
    this.ws.sendBinary(msg);
  }

  private finish(code: number, message?: string): void {
    if (this.finished) return;
    const p = this.params;
    // As the kubelet writes it: no HTTP code; kubectl reads the exit code from the ExitCode cause.
    const status =
      code === 0
        ? { metadata: {}, status: "Success" }
        : {
            metadata: {},
            status: "Failure",
            message:
              message ??
              `command terminated with non-zero exit code: error executing command [${p.command.join(" ")}], exit code ${code}`,
            reason: "NonZeroExitCode",
            details: { causes: [{ reason: "ExitCode", message: String(code) }] },
          };
    this.send(STATUS, JSON.stringify(status));
    this.finished = true;
    this.ws.close(1000, "");
  }
}

/** attach: the container's main process echoes stdin (like `cat`); without stdin it prints a line every 200 ms. */
async function attach(io: ProcIO, withStdin: boolean): Promise<number> {
  if (withStdin) return run(["cat"], io);
  for (let i = 0; !io.signal.aborted; i++) {
    io.out(`${io.pod} main process heartbeat ${i}\n`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return 0;
}
