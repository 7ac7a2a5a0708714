// The session recorder: a tap on the exec/attach relay. It reads the Kubernetes stream channels
// (stdin 0, stdout 1, stderr 2, resize 4), keeps frames in memory and writes them to the store as a
// chunk every flushMs (≤ 1 s behind) or every chunkBytes, several chunks in flight when the store
// takes them so (S3), stopping at the session's byte cap.
import { FRAME, FrameBuffer, type FrameType } from "./frames.ts";
import type { RecordingStore, RecordingWriter, SessionMeta } from "./store.ts";

export interface RecorderOptions {
  store: RecordingStore;
  meta: SessionMeta;
  /** Session bytes recorded at most; past it the recording stops (a marker and onLimit say so). */
  maxBytes: number;
  /** How often frames are written while the session runs. */
  flushMs?: number;
  /** Written at once when this much is waiting, without waiting for the timer; a chunk's most. */
  chunkBytes?: number;
  /**
   * More than this waiting while every upload slot is busy: the store cannot keep up (a failure).
   * With the chunks in flight (several slots: writer.uploads × chunkBytes; one: one chunk of at most
   * this much), what a session holds at most.
   */
  maxPendingBytes?: number;
  /** A terminal resize the client sent (audit's resize event). */
  onResize?: (cols: number, rows: number) => void;
  /** The recording stopped at its cap; the session goes on. */
  onLimit?: (message: string, bytes: number) => void;
  /** The store failed; nothing more is recorded. record_session decides whether the session goes on. */
  onFailure?: (message: string) => void;
  /** ms clock (performance.now by default). */
  now?: () => number;
}

/** What the relay calls, message by message (never throws), and the end. */
export interface Recorder {
  readonly sid: string;
  fromClient(data: string | Uint8Array): void;
  fromUpstream(data: string | Uint8Array): void;
  /** Bytes of session data recorded so far. */
  bytes(): number;
  /**
   * Writes what is left and the end record (`stopped`: why the recording ended early, if the
   * session did not start); resolves when the store has them (never rejects).
   */
  close(end: { exitCode?: number; stopped?: string }): Promise<void>;
}

const enc = new TextEncoder();
const mib = (n: number) => (n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`);

/** Channel and payload of one channel-protocol message (base64 protocols send text). */
function channelOf(data: string | Uint8Array): [number, Uint8Array] | undefined {
  if (typeof data === "string") {
    if (data.length === 0) return undefined;
    return [data.charCodeAt(0) - 48, Buffer.from(data.slice(1), "base64")];
  }
  if (data.byteLength === 0) return undefined;
  return [data[0]!, data.subarray(1)];
}

/**
 * Starts a recording: writes its metadata (rejects when the store cannot: record_session strict
 * refuses the session then), then records what the relay shows it.
 */
export async function startRecorder(opts: RecorderOptions): Promise<Recorder> {
  const {
    store,
    meta,
    maxBytes,
    flushMs = 500,
    chunkBytes = 4 * 1024 * 1024,
    maxPendingBytes = 32 * 1024 * 1024,
    onResize,
    onLimit,
    onFailure,
    now = () => performance.now(),
  } = opts;
  const writer: RecordingWriter = await store.create(meta);
  const slots = Math.max(1, writer.uploads ?? 1);
  // Several slots: chunks of chunkBytes, spread over them. One: everything waiting in one write, as
  // a writer behind catches up fastest (a file store's writev waits on the thread pool per call).
  const chunkMost = slots > 1 ? chunkBytes : Number.POSITIVE_INFINITY;
  const t0 = now();
  const frames = new FrameBuffer();
  let recorded = 0;
  let seq = 0;
  let stopped: string | undefined;
  let failed = false;
  /** The chunk writes the store has not answered (each settles, never rejects). */
  const inFlight = new Set<Promise<void>>();

  const fail = (message: string) => {
    if (failed) return;
    failed = true;
    stopped = message;
    clearInterval(timer);
    frames.take();
    void writer.abort();
    onFailure?.(message);
  };
  const upload = (chunk: Uint8Array[]) => {
    const written: Promise<void> = writer.write(++seq, chunk).then(
      () => {
        inFlight.delete(written);
        pump(false);
      },
      (err) => {
        inFlight.delete(written);
        fail(`recording store ${store.name} failed: ${(err as Error)?.message ?? err}`);
      },
    );
    inFlight.add(written);
  };
  /**
   * Starts chunk writes while an upload slot is free: full chunks, or (`all`: the timer, the end)
   * whatever is waiting. Chunks are numbered as taken; with several slots they may land out of
   * order, which readers handle (a recording plays up to its first missing chunk).
   */
  const pump = (all: boolean) => {
    while (!failed && inFlight.size < slots && (frames.size >= chunkBytes || (all && frames.size > 0)))
      upload(frames.take(chunkMost));
  };
  const timer = setInterval(() => pump(true), flushMs);
  (timer as { unref?: () => void }).unref?.();

  /**
   * Keeps `data` by reference until its chunk is written: the relay's messages are fresh buffers
   * nobody writes to again (Bun's server hands each client message over in its own buffer; ws-client
   * one per upstream message; base64 text is decoded into a new one). Copying the client's stdin
   * cost a memcpy per byte on the relay's thread.
   */
  const push = (type: FrameType, data: Uint8Array) => {
    if (stopped !== undefined || data.byteLength === 0) return;
    let part = data;
    if (recorded + part.byteLength > maxBytes) part = part.subarray(0, maxBytes - recorded);
    frames.push(type, now() - t0, part);
    recorded += part.byteLength;
    if (part.byteLength < data.byteLength || recorded >= maxBytes) {
      stopped = `recording stopped at ${recorded} bytes (audit.recording_max_bytes); the session went on`;
      frames.push(FRAME.marker, now() - t0, enc.encode(stopped));
      onLimit?.(stopped, recorded);
    }
    if (frames.size >= chunkBytes) {
      pump(false);
      if (frames.size > maxPendingBytes)
        fail(
          `recording store ${store.name} is too slow: more than ${mib(maxPendingBytes)} waiting to be written behind ${slots} chunk upload${slots > 1 ? "s" : ""} in flight`,
        );
    }
  };

  return {
    sid: meta.sid,
    fromClient(data) {
      if (stopped !== undefined) return;
      const c = channelOf(data);
      if (!c) return;
      const [ch, payload] = c;
      if (ch === 0 && !meta.tty) push(FRAME.input, payload);
      else if (ch === 4) {
        try {
          const { Width, Height } = JSON.parse(new TextDecoder().decode(payload)) as {
            Width?: number;
            Height?: number;
          };
          if (Number.isInteger(Width) && Number.isInteger(Height)) {
            onResize?.(Width!, Height!);
            if (meta.tty) push(FRAME.resize, enc.encode(`${Width}x${Height}`));
          }
        } catch {
          // not a resize message: nothing to record
        }
      }
    },
    fromUpstream(data) {
      if (stopped !== undefined) return;
      const c = channelOf(data);
      if (!c) return;
      const [ch, payload] = c;
      if (ch === 1) push(FRAME.output, payload);
      else if (ch === 2) push(meta.tty ? FRAME.output : FRAME.stderr, payload);
    },
    bytes: () => recorded,
    async close({ exitCode, stopped: why }) {
      if (why !== undefined) stopped ??= why;
      clearInterval(timer);
      const started = Date.parse(meta.started);
      try {
        // What is left goes out (a few chunks at a time); the end record only once every chunk
        // landed: a reader that finds it finds the whole recording.
        for (pump(true); inFlight.size > 0 && !failed; pump(true)) await Promise.race(inFlight);
        if (failed) return;
        await writer.finish({
          ended: new Date().toISOString(),
          duration_ms: Math.max(0, Date.now() - started),
          bytes: recorded,
          chunks: seq,
          ...(stopped !== undefined ? { stopped } : {}),
          ...(exitCode !== undefined ? { exit_code: exitCode } : {}),
        });
      } catch (err) {
        fail(`recording store ${store.name} failed: ${(err as Error)?.message ?? err}`);
      }
    },
  };
}
