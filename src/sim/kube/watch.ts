// Watch streams: chunked JSON lines of ADDED/MODIFIED/DELETED/BOOKMARK events, as objects or Table rows.
import type { LiveStreams } from "./live-streams.ts";
import { PROTOBUF, protobufWatchFrame } from "./protobuf.ts";
import type { ObjectFilter } from "./selectors.ts";
import { statusResponse } from "./status.ts";
import type { KubeObject, ObjectStore, StoreEvent } from "./store.ts";
import { toTable } from "./table.ts";

export interface WatchOptions {
  kind: string;
  namespace?: string;
  resourceVersion: string | null;
  filter: ObjectFilter;
  table: boolean;
  bookmarks: boolean;
  timeoutSeconds?: number;
  signal: AbortSignal;
  /** Interval between BOOKMARK events when bookmarks are allowed. */
  bookmarkEveryMs?: number;
  /** Counts the watch open until it ends. */
  live?: LiveStreams;
  /** Length-prefixed protobuf frames (`;stream=watch`) instead of JSON lines. */
  protobuf?: boolean;
}

/** Starts a watch; 410 Gone when the requested resourceVersion is older than the event history. */
export function watchResponse(store: ObjectStore, opts: WatchOptions): Response {
  const rvText = opts.resourceVersion ?? "";
  let backlog: { type: string; object: KubeObject }[];
  if (rvText === "" || rvText === "0") {
    const current = store.listObjects(opts.kind, opts.namespace);
    backlog = current.filter(opts.filter).map((object) => ({ type: "ADDED", object }));
  } else {
    const rv = Number(rvText);
    if (!Number.isInteger(rv) || rv < 0)
      return statusResponse(400, "BadRequest", `invalid resource version: ${rvText}`);
    const since = store.eventsSince(rv);
    if (!since) {
      return statusResponse(410, "Expired", `too old resource version: ${rv} (${store.oldestWatchableRv})`);
    }
    backlog = since.filter((e) => matches(e, opts)).map(({ type, object }) => ({ type, object }));
  }

  const enc = new TextEncoder();
  let cleanup = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      let first = true;
      const counted = opts.live?.open("watch");
      const write = (type: string, object: KubeObject) => {
        if (closed) return;
        const obj =
          opts.table && type !== "BOOKMARK"
            ? toTable([object], { resourceVersion: object.metadata.resourceVersion }, first)
            : object;
        first = false;
        try {
          controller.enqueue(
            opts.protobuf
              ? protobufWatchFrame(type, object)
              : enc.encode(`${JSON.stringify({ type, object: obj })}\n`),
          );
        } catch {
          cleanup();
        }
      };
      const unsubscribe = store.subscribe((e) => {
        if (matches(e, opts)) write(e.type, e.object);
      });
      const bookmarkTimer = opts.bookmarks
        ? setInterval(
            () => write("BOOKMARK", bookmark(opts.kind, store.resourceVersion)),
            opts.bookmarkEveryMs ?? 5000,
          )
        : undefined;
      const timeout = setTimeout(() => cleanup(), (opts.timeoutSeconds ?? 1800) * 1000);
      cleanup = () => {
        if (closed) return;
        closed = true;
        counted?.();
        unsubscribe();
        clearInterval(bookmarkTimer);
        clearTimeout(timeout);
        opts.signal.removeEventListener("abort", cleanup);
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      opts.signal.addEventListener("abort", cleanup);
      for (const e of backlog) write(e.type, e.object);
      if (opts.bookmarks && (rvText === "" || rvText === "0"))
        write("BOOKMARK", bookmark(opts.kind, store.resourceVersion, true));
      // Bun.serve sends the response head only with the first non-empty chunk; a lone newline (skipped
      // by client-go's JSON framer and client-node's line reader) lets clients see the 200 at once.
      if (first && !opts.protobuf) controller.enqueue(enc.encode("\n"));
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(stream, {
    headers: {
      "Content-Type": opts.protobuf ? `${PROTOBUF};stream=watch` : "application/json",
      "Cache-Control": "no-cache, private",
      "X-Content-Type-Options": "nosniff",
    },
  });
}

function matches(e: StoreEvent, opts: WatchOptions): boolean {
  if (e.object.kind !== opts.kind) return false;
  if (opts.namespace !== undefined && e.object.metadata.namespace !== opts.namespace) return false;
  return opts.filter(e.object);
}

function bookmark(kind: string, rv: number, initialEnd = false): KubeObject {
  return {
    kind,
    apiVersion: "v1",
    metadata: {
      resourceVersion: String(rv),
      ...(initialEnd ? { annotations: { "k8s.io/initial-events-end": "true" } } : {}),
    },
  };
}
