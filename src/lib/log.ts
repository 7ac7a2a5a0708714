// Structured logging via pino: JSON lines for machines, pino-pretty text for a terminal.
import pino, { type Logger } from "pino";
import type PinoPretty from "pino-pretty";

export type { Logger };
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
export type LogFormat = "json" | "text";

export interface LogOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; stderr by default so stdout stays clean for command output. */
  fd?: number;
  /**
   * JSON lines are gathered and written every 50 ms (or per 8 KiB) instead of one write(2) per line,
   * and flushed at exit. For the long-running server: one audit line per proxied request as its own
   * syscall was a tenth of the gateway's CPU. A kill -9 can lose the last 50 ms of lines.
   */
  buffered?: boolean;
}

const FLUSH_MS = 50;
// One exit hook for every buffered destination (exit also runs after an uncaught exception).
type Flushable = { flushSync(): void };
const buffers = new Set<Flushable>();
/** jsonLines' gathered lines, handed to their destination before it is flushed. */
const pendingLines = new Set<() => void>();
let exitHooked = false;

/** Writes every buffered JSON line now (before printing an error the lines led up to, and at exit). */
export function flushLogs(): void {
  for (const write of pendingLines) {
    try {
      write();
    } catch {
      // As below.
    }
  }
  for (const d of buffers) {
    try {
      d.flushSync();
    } catch {
      // Nothing more can be done with a broken log destination.
    }
  }
}

function bufferedDestination(fd: number) {
  const dest = pino.destination({ fd, sync: true, minLength: 8 * 1024, periodicFlush: FLUSH_MS });
  buffers.add(dest);
  if (!exitHooked) {
    exitHooked = true;
    process.once("exit", flushLogs);
  }
  return dest;
}

/** Creates the root logger. Text format is written synchronously so lines are never lost at exit. */
export function createLogger({ level = "info", format, fd = 2, buffered = false }: LogOptions = {}): Logger {
  const useText = format ? format === "text" : Boolean(process.stderr.isTTY);
  const base = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  if (useText) {
    // Loaded only for text logs (a terminal): `kubeport start` logs JSON and does not pay for it.
    const pretty = require("pino-pretty") as typeof PinoPretty;
    return pino(
      base,
      pretty({
        sync: true,
        destination: fd,
        colorize: Boolean(process.stderr.isTTY),
        ignore: "pid,hostname",
        // One line per event: journald and grep see an event as one entry, not one per field.
        singleLine: true,
      }),
    );
  }
  return pino(base, buffered ? bufferedDestination(fd) : pino.destination({ fd, sync: true }));
}

/**
 * Lines of one shape written by a hot path without pino (the audit sink: one line per proxied
 * request, where pino's encoding of the event and one destination write per line were a tenth of
 * the gateway's CPU): `line` builds exactly what `logger[level]({ [key]: value }, msg)` writes, with
 * `value` already JSON; `add` gathers lines and hands them to the logger's destination together
 * every 10 ms (and at flushLogs / exit). Only for a logger writing JSON to a buffered destination
 * (`kubeport start`); undefined otherwise (text on a terminal, tests' destinations): log through pino.
 */
export interface JsonLines {
  line(time: string, key: string, json: string, msg: string): string;
  add(line: string): void;
}

const LINES_MS = 10;

export function jsonLines(
  logger: Logger,
  level: Exclude<LogLevel, "silent"> = "info",
): JsonLines | undefined {
  const self = logger as unknown as Record<symbol, unknown>;
  const stream = self[pino.symbols.streamSym] as ({ write(s: string): unknown } & Flushable) | undefined;
  if (!stream || !buffers.has(stream)) return undefined;
  const chindings = String(self[pino.symbols.chindingsSym] ?? "");
  const head = `{"level":${logger.levels.values[level]},"time":"`;
  let pending = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const write = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const text = pending;
    pending = "";
    if (text) stream.write(text);
  };
  pendingLines.add(write);
  return {
    line: (time, key, json, msg) =>
      `${head}${time}"${chindings},${JSON.stringify(key)}:${json},"msg":${JSON.stringify(msg)}}\n`,
    add(line) {
      pending += line;
      if (timer) return;
      timer = setTimeout(write, LINES_MS);
      timer.unref?.();
    },
  };
}

/** A logger that drops everything, for tests and quiet CLI commands. */
export const silentLogger: Logger = pino({ level: "silent" });
