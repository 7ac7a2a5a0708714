// The response filter the forward stage applies to a list or watch that per-resource RBAC restricts:
// picks the filter by Content-Type (JSON list or Table, JSON watch, protobuf list or watch) and
// refuses anything else — an answer kubeport cannot filter is never passed through. Lists are
// filtered as upstream's bytes arrive and sent on at once; a list that fails once its first bytes
// went out is aborted (the client sees a cut body: an error, never a shorter list).
import { kubeStatus, statusResponse } from "../status.ts";
import { jsonListFilter } from "./json-list.ts";
import { filterJsonWatch } from "./json-watch.ts";
import { filterProtobufWatch } from "./protobuf.ts";
import { protobufListFilter } from "./protobuf-list.ts";
import { type FilterPlan, FilterRefusal, type ListFilter, type ReadBudget } from "./types.ts";

/**
 * Most bytes of a list kubeport holds at once: one item, or the list's own members around its items
 * (a list is not held whole). Far above any Kubernetes object (etcd's default limit is 1.5 MiB).
 */
export const MAX_FILTERED_ITEM_BYTES = 16 * 1024 * 1024;

export interface FilterOptions {
  /** Most bytes held at once (MAX_FILTERED_ITEM_BYTES). */
  maxHeld?: number;
  /** A list that failed after its first bytes were sent, so it was aborted: why (for the log). */
  onAbort?: (err: FilterRefusal) => void;
  /** A list's account in the process's budget; closed here once the list is done, whatever happens. */
  budget?: ReadBudget;
  /**
   * Upstream's chunks are the filter's alone (a fetch body: each chunk is a buffer of its own) and
   * whatever reads the answer copies what it is given (Bun.serve's response, a stream reader; not
   * Response.text(), which keeps views of the written bytes until the end): each chunk is given back
   * as soon as it was filtered, and one buffer is reused for what is sent. Off: nothing is freed or
   * reused.
   */
  reuseBuffers?: boolean;
}

/** Answers 2xx lists and watches filtered; other answers (errors, 101) pass as they are. */
export async function filterResponse(
  res: Response,
  plan: FilterPlan,
  { maxHeld = MAX_FILTERED_ITEM_BYTES, onAbort, budget, reuseBuffers = false }: FilterOptions = {},
): Promise<Response> {
  if (res.status < 200 || res.status > 206 || !res.body || plan.watch) budget?.close();
  if (res.status < 200 || res.status > 206 || !res.body) return res;
  try {
    const encoding = res.headers.get("content-encoding");
    if (encoding && encoding !== "identity")
      throw new FilterRefusal(
        `upstream answered ${encoding}-encoded; kubeport asked for an unencoded answer to filter`,
      );
    const type = (res.headers.get("content-type") ?? "").toLowerCase();
    const media = type.split(";")[0]!.trim();
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    if (plan.watch) {
      if (media === "application/json")
        return new Response(filterJsonWatch(res.body, plan.allows), { status: res.status, headers });
      if (media === "application/vnd.kubernetes.protobuf" && /;\s*stream=watch/.test(type))
        return new Response(filterProtobufWatch(res.body, plan.allows), { status: res.status, headers });
      throw unsupported(type);
    }
    if (media === "application/json")
      return await filterList(res, jsonListFilter(plan.allows, maxHeld), headers, {
        onAbort,
        budget,
        reuseBuffers,
      });
    if (media === "application/vnd.kubernetes.protobuf")
      return await filterList(res, protobufListFilter(plan.allows, maxHeld), headers, {
        onAbort,
        budget,
        reuseBuffers,
      });
    throw unsupported(type);
  } catch (err) {
    budget?.close();
    res.body.cancel().catch(() => {});
    if (!(err instanceof FilterRefusal)) throw err;
    return statusResponse(kubeStatus(err.code, err.message));
  }
}

const unsupported = (type: string) =>
  new FilterRefusal(
    `kubeport filters this answer item by item and cannot filter ${type ? `"${type}"` : "an answer without a Content-Type"} (it filters application/json, Table and application/vnd.kubernetes.protobuf)`,
    406,
  );

const brokeOff = (what: string, err?: unknown) =>
  new FilterRefusal(
    `upstream's answer broke off ${what}, so kubeport does not answer it as a list`,
    502,
    err,
  );

/** A list that read this much from upstream asks for a collection when it ends… */
const GC_AFTER_BYTES = 1024 * 1024;
/** …but the process asks at most this often (many big lists at once would otherwise ask for one each). */
const GC_EVERY_MS = 100;
let lastGc = 0;
let trailing: ReturnType<typeof setTimeout> | undefined;

/**
 * Asks for an asynchronous collection, at most once every GC_EVERY_MS: what a big list read is
 * garbage now. Upstream's chunks are given back as they are read (giveBack), but not every chunk can
 * be (a filter that holds views, a chunk sharing its buffer) and the list leaves its own garbage.
 * A list that ends inside the window gets one collection at its end rather than none: skipping it
 * left the garbage of many concurrent lists to the collector's own pace (CI: 64 concurrent filtered
 * lists held 261 MiB against the 256 MiB budget of test/redteam/filtered-list-memory).
 */
function collectSoon() {
  const now = performance.now();
  const wait = lastGc + GC_EVERY_MS - now;
  if (wait <= 0) {
    lastGc = now;
    Bun.gc(false);
  } else if (!trailing) {
    trailing = setTimeout(() => {
      trailing = undefined;
      lastGc = performance.now();
      Bun.gc(false);
    }, wait);
    trailing.unref?.();
  }
}

/**
 * Frees a chunk upstream's fetch handed over, now that what the filter sent of it was copied out:
 * each chunk is its own ArrayBuffer outside the JS heap the collector weighs, so without this a big
 * list's chunks waited in RSS for the next collection (5x the response). transfer(0) detaches the
 * buffer and releases its memory at once. A view of part of a buffer is left alone (the buffer may
 * hold more than this chunk).
 */
function giveBack(chunk: Uint8Array) {
  if (chunk.byteOffset !== 0 || chunk.byteLength !== chunk.buffer.byteLength) return;
  const buffer = chunk.buffer as ArrayBuffer & { transfer?(length: number): ArrayBuffer };
  if (buffer instanceof ArrayBuffer && typeof buffer.transfer === "function" && !buffer.detached)
    buffer.transfer(0);
}

/** The parts copied one after another into `out` (a new buffer by default); a view of what was filled. */
function copyOf(parts: readonly Uint8Array[], out?: Uint8Array): Uint8Array {
  if (!out) {
    let n = 0;
    for (const p of parts) n += p.length;
    out = new Uint8Array(n);
  }
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out.subarray(0, at);
}

/**
 * Reads upstream's body through `filter`. Until the first filtered bytes are ready a failure is a
 * Status (thrown FilterRefusal); a body that ends first is answered whole, with its length. After,
 * the rest streams: the list's end goes out only when upstream's body ended whole (all its bytes,
 * when it said how many), else the stream is aborted — Bun then closes the connection without the
 * last chunk, so the client reads a cut body and fails (kubectl: "unexpected EOF").
 */
async function filterList(
  res: Response,
  filter: ListFilter,
  headers: Headers,
  { onAbort, budget, reuseBuffers }: Omit<FilterOptions, "maxHeld">,
): Promise<Response> {
  const declared = res.headers.get("content-length");
  const expected = declared !== null && !res.headers.has("transfer-encoding") ? Number(declared) : undefined;
  const reader = res.body!.getReader();
  let seen = 0;
  /** The chunk whose bytes the last step returned: given back once they were copied out. */
  let chunk: Uint8Array | undefined;
  const release = () => {
    if (chunk && reuseBuffers && !filter.holdsViews) giveBack(chunk);
    chunk = undefined;
  };
  /** The next bytes to send, [] for none yet, or undefined once the body was read whole. */
  const step = async (): Promise<Uint8Array[] | undefined> => {
    let next: Awaited<ReturnType<typeof reader.read>>;
    // Over the process's budget for filtered lists, upstream's bytes wait in upstream's socket.
    if (budget) await budget.ready();
    try {
      next = await reader.read();
    } catch (err) {
      throw brokeOff(`after ${seen} bytes (${(err as Error).message})`, err);
    }
    if (next.done) {
      if (expected !== undefined && seen !== expected) throw brokeOff(`after ${seen} of ${expected} bytes`);
      return undefined;
    }
    chunk = next.value;
    seen += next.value.length;
    budget?.add(next.value.length);
    if (expected !== undefined && seen > expected) throw brokeOff(`past its ${expected} bytes`);
    const out = filter.push(next.value);
    // Everything upstream said it would send is in: the end can go with it.
    if (seen === expected) out.push(...filter.end());
    return out;
  };
  let first: Uint8Array[] = [];
  let whole = false;
  try {
    while (first.length === 0 && !whole) {
      const out = await step();
      if (out === undefined) {
        first = filter.end();
        whole = true;
      } else {
        first = out;
        whole = seen === expected;
        if (first.length === 0) release();
      }
    }
  } catch (err) {
    // Refused before anything was sent (a Status): upstream's connection is let go.
    reader.cancel().catch(() => {});
    throw err;
  }
  if (whole) {
    budget?.close();
    const body = copyOf(first);
    release();
    headers.set("content-length", String(body.length));
    return new Response(body as Uint8Array<ArrayBuffer>, { status: res.status, headers });
  }
  // A direct stream: kept bytes are written into the response's own buffer (no chunk objects, no
  // queue), and a flush that has to wait for the client's socket holds the next read from upstream.
  // One write per upstream chunk, gathered into one buffer, so no view of the chunk outlives the
  // step and the chunk can be freed (the same CPU as a write per kept item: the writes' cost is TLS
  // and the socket). With reuseBuffers the one buffer is reused (the reader copied what was
  // written), else each write gets a copy of its own.
  let scratch = new Uint8Array(0);
  const writeAll = (controller: DirectController, parts: readonly Uint8Array[]) => {
    if (parts.length === 1 && !reuseBuffers) controller.write(parts[0]!);
    else if (parts.length > 0) {
      let n = 0;
      for (const p of parts) n += p.length;
      if (!reuseBuffers) controller.write(copyOf(parts, new Uint8Array(n)));
      else {
        if (scratch.length < n) scratch = new Uint8Array(Math.max(n, 2 * scratch.length, 64 * 1024));
        controller.write(copyOf(parts, scratch));
      }
    }
    release();
  };
  let done = false;
  const finish = () => {
    if (done) return false;
    done = true;
    budget?.close();
    release();
    if (seen >= GC_AFTER_BYTES) collectSoon();
    return true;
  };
  const body = new ReadableStream<Uint8Array>({
    type: "direct",
    highWaterMark: 64 * 1024,
    async pull(controller: DirectController) {
      try {
        writeAll(controller, first);
        first = [];
        for (;;) {
          const flushed = controller.flush();
          if (flushed instanceof Promise) await flushed;
          if (done) return;
          if (seen === expected) break;
          const out = await step();
          if (out === undefined) {
            writeAll(controller, filter.end());
            break;
          }
          writeAll(controller, out);
        }
        if (finish()) controller.close();
      } catch (err) {
        if (!finish()) return;
        reader.cancel().catch(() => {});
        if (!(err instanceof FilterRefusal)) throw err;
        onAbort?.(err);
        // Aborts the response (no last chunk: the client reads a cut body). A thrown `undefined`
        // ends it without Bun printing a reason (the reason is logged through onAbort).
        throw undefined;
      }
    },
    cancel(reason?: unknown) {
      finish();
      return reader.cancel(reason);
    },
  } as unknown as UnderlyingDefaultSource<Uint8Array>);
  return new Response(body, { status: res.status, headers });
}

/** Bun's controller of a `type: "direct"` ReadableStream. */
interface DirectController {
  write(chunk: Uint8Array): number | Promise<number>;
  flush(): number | Promise<number>;
  close(): void;
}
