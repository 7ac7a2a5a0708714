// The recording store seam: the gateway writes through it, the CLI and the gateway's playback read
// through it. Two stores: files in data_dir (one host) and S3 (an HA pair: both write, either reads).

/** Written when the session starts: who, where, what. */
export interface SessionMeta {
  version: 1;
  /** The session id (UUIDv7: ids sort by start time), also the audit events' `sid`. */
  sid: string;
  kind: "exec" | "attach";
  user: string;
  cluster: string;
  namespace: string;
  pod: string;
  container?: string;
  command?: string[];
  /** kubectl -t: output is a terminal's (asciicast plays it as such). */
  tty: boolean;
  /** RFC 3339. */
  started: string;
  /** The gateway that recorded it. */
  server?: string;
}

/** Written when the session ends (absent after a crash: the recording ends with its last chunk). */
export interface SessionEnd {
  /** RFC 3339. */
  ended: string;
  duration_ms: number;
  /** Bytes of session data recorded. */
  bytes: number;
  /**
   * Chunks written (1..chunks), every one of them before this record: a store whose chunks may land
   * out of order (S3) tells a lost one from the end of the recording by it. Absent in older records.
   */
  chunks?: number;
  /** Why the recording stopped before the session did (its cap, a store failure). */
  stopped?: string;
  exit_code?: number;
}

/** One recording as listed: its start, and its end when it has one. */
export interface RecordingInfo extends SessionMeta {
  end?: SessionEnd;
}

export interface RecordingWriter {
  /**
   * Chunk writes the store takes at once (default 1: one at a time, in order). More than one: chunks
   * are independent objects that may land out of order, and readers play up to the first missing one.
   */
  readonly uploads?: number;
  /** Stores one chunk of frames (frames.ts, whole frames), given in parts, numbered 1, 2, … as taken. */
  write(seq: number, chunk: readonly Uint8Array[]): Promise<void>;
  finish(end: SessionEnd): Promise<void>;
  /** Gives up (the recording failed): releases what the writer holds; never rejects. */
  abort(): Promise<void>;
}

export interface RecordingQuery {
  /** ms since the epoch: sessions started at or after. */
  since?: number;
  /** ms since the epoch: sessions started before. */
  until?: number;
}

export interface RecordingStore {
  /** "file /var/lib/kubeport/recordings", "s3 bucket/prefix": for messages. */
  readonly name: string;
  /** Writes the session's metadata and returns its writer; rejects when the store cannot be written. */
  create(meta: SessionMeta): Promise<RecordingWriter>;
  /** Recordings started in the window, oldest first. */
  list(q?: RecordingQuery): Promise<RecordingInfo[]>;
  /** One recording's metadata, or undefined. */
  get(sid: string): Promise<RecordingInfo | undefined>;
  /**
   * Its chunks in order: the contiguous ones from the first (a chunk after a missing one is never
   * played); throws after them when the end record says more were written.
   */
  chunks(sid: string): AsyncIterable<Uint8Array>;
}

/** Session ids are UUIDs; anything else is refused before it reaches a path or an object key. */
export const SID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The start time (ms) a UUIDv7 carries in its first 48 bits; undefined for other versions. */
export function sidTime(sid: string): number | undefined {
  if (!SID.test(sid) || sid[14] !== "7") return undefined;
  return Number.parseInt(sid.slice(0, 8) + sid.slice(9, 13), 16);
}

/** The smallest UUIDv7 prefix of sessions started at or after `ms` (list pages start there). */
export function sidFloor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}`;
}

/** Keeps the recordings of the window (by their start time). */
export function inWindow(info: { started: string }, q: RecordingQuery | undefined): boolean {
  const t = Date.parse(info.started);
  if (q?.since !== undefined && t < q.since) return false;
  if (q?.until !== undefined && t >= q.until) return false;
  return true;
}
