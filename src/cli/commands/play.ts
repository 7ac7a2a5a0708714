// `kubeport play SESSION_ID`: replays a session recording in the terminal (like `tsh play`), or
// prints it as asciicast v2, plain text or JSON events.
import { castLines, jsonLines, play, readCast, textLines } from "../../recording/index.ts";
import { stringOpt, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { findRecording, recordingSource, sourceOptions } from "./recordings.ts";

const FORMATS = ["pty", "cast", "text", "json"] as const;

export const playCommand: Command = {
  name: "play",
  usage: "SESSION_ID",
  summary: "Replay a session recording (or print it: --format cast|text|json).",
  options: {
    config: {
      type: "string",
      short: "c",
      valueName: "FILE",
      description: "config file (default $KUBEPORT_CONFIG or /etc/kubeport.yaml): its recordings store",
    },
    speed: {
      type: "string",
      valueName: "N",
      description: "playback speed (2 = twice as fast)",
      default: "1",
    },
    "skip-idle": { type: "boolean", description: "cut pauses longer than a second to a second" },
    format: {
      type: "string",
      valueName: "FMT",
      description:
        "pty (replay with its timing), cast (asciicast v2), text (output, controls removed) or json (events)",
      default: "pty",
    },
    ...sourceOptions,
  },
  help: `Session ids are in ctl recordings ls and in the audit (sid).
asciicast v2 plays in asciinema (asciinema play FILE.cast) and its web player.`,
  async run(ctx) {
    const format = stringOpt(ctx.values, "format") ?? "pty";
    if (!(FORMATS as readonly string[]).includes(format))
      throw new UsageError(`--format: "${format}" is not one of: ${FORMATS.join(", ")}`);
    const speed = Number(stringOpt(ctx.values, "speed") ?? "1");
    if (!(speed > 0 && speed <= 1000))
      throw new UsageError("--speed: must be a number above 0 (e.g. 0.5, 2)");
    const store = await recordingSource(ctx);
    const info = await findRecording(store, ctx.positionals[0]);
    const lines =
      format === "cast"
        ? castLines
        : format === "text"
          ? textLines
          : format === "json"
            ? jsonLines
            : undefined;
    if (lines) {
      for await (const line of lines(info, store.chunks(info.sid))) ctx.out(line);
      return 0;
    }
    const { events } = await readCast(info, store.chunks(info.sid));
    await play(events, {
      speed,
      ...(ctx.values["skip-idle"] === true ? { idleLimitSec: 1 } : {}),
      write: (t) => ctx.out(t),
      signal: ctx.signal,
    });
    return 0;
  },
};
