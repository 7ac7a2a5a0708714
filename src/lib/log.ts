// Structured logging via pino: JSON lines for machines, pino-pretty text for a terminal.
import pino, { type Logger } from "pino";
import pretty from "pino-pretty";

export type { Logger };
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
export type LogFormat = "json" | "text";

export interface LogOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; stderr by default so stdout stays clean for command output. */
  fd?: number;
}

/** Creates the root logger. Text format is written synchronously so lines are never lost at exit. */
export function createLogger({ level = "info", format, fd = 2 }: LogOptions = {}): Logger {
  const useText = format ? format === "text" : Boolean(process.stderr.isTTY);
  const base = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  if (useText) {
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
  return pino(base, pino.destination({ fd, sync: true }));
}

/** A logger that drops everything, for tests and quiet CLI commands. */
export const silentLogger: Logger = pino({ level: "silent" });
