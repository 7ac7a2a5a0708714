// Recordings as files: <dir>/<sid>/session.json, frames.bin (chunks appended as written), end.json.
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  inWindow,
  type RecordingInfo,
  type RecordingQuery,
  type RecordingStore,
  type RecordingWriter,
  type SessionEnd,
  type SessionMeta,
  SID,
  sidFloor,
} from "./store.ts";

/** Writes `data` to `path` whole or not at all (write a temporary file, then rename it). */
async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, data, { mode: 0o600 });
  await rename(tmp, path);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

/**
 * A store in `dir` (created 0700 on the first recording). A chunk is appended to frames.bin with one
 * write, so a process killed mid-session leaves every chunk written before it, and at worst a
 * partial last frame that readers drop.
 */
export function fileStore(dir: string): RecordingStore {
  const folder = (sid: string) => {
    if (!SID.test(sid)) throw new Error(`${JSON.stringify(sid)} is not a session id`);
    return join(dir, sid);
  };
  const get = async (sid: string): Promise<RecordingInfo | undefined> => {
    if (!SID.test(sid)) return undefined;
    const meta = await readJson<SessionMeta>(join(dir, sid, "session.json"));
    if (!meta) return undefined;
    const end = await readJson<SessionEnd>(join(dir, sid, "end.json"));
    return end ? { ...meta, end } : meta;
  };
  return {
    name: `file ${dir}`,
    async create(meta) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const at = folder(meta.sid);
      await mkdir(at, { mode: 0o700 });
      await writeAtomic(join(at, "session.json"), JSON.stringify(meta));
      const frames = await open(join(at, "frames.bin"), "a", 0o600);
      let closed = false;
      const close = async () => {
        if (closed) return;
        closed = true;
        await frames.close();
      };
      const writer: RecordingWriter = {
        async write(_seq, chunk) {
          // One writev per chunk: a crash leaves whole chunks, and at worst a partial last frame.
          await frames.writev(chunk as Uint8Array[]);
        },
        async finish(end) {
          await close();
          await writeAtomic(join(at, "end.json"), JSON.stringify(end));
        },
        abort: () => close().catch(() => {}),
      };
      return writer;
    },
    async list(q?: RecordingQuery) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        return [];
      }
      // UUIDv7 ids sort by start time: skip what started before `since` without opening it.
      const floor = q?.since !== undefined ? sidFloor(q.since) : "";
      const out: RecordingInfo[] = [];
      for (const sid of names.filter((n) => SID.test(n) && n >= floor).sort()) {
        const info = await get(sid);
        if (info && inWindow(info, q)) out.push(info);
      }
      return out;
    },
    get,
    async *chunks(sid) {
      const path = join(folder(sid), "frames.bin");
      try {
        for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }))
          yield new Uint8Array(chunk as Buffer);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    },
  };
}
