// Open streams per user (Teleport's max_kubernetes_connections): exec/attach/port-forward sessions,
// watches and `logs -f`, the requests that hold two sockets for as long as the user likes.

export interface StreamCounter {
  /** A release function when `key` may open one more stream; undefined when it is at the limit. */
  acquire(key: string): (() => void) | undefined;
  /** Streams `key` holds now. */
  open(key: string): number;
}

/** Counts streams per key; `max` 0 means no limit (each stream is still counted). */
export function createStreamCounter(max: number): StreamCounter {
  const open = new Map<string, number>();
  return {
    acquire(key) {
      const n = open.get(key) ?? 0;
      if (max > 0 && n >= max) return undefined;
      open.set(key, n + 1);
      let released = false;
      // Once only: a stream's end can be reported from more than one path (body end, cancel, error).
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(key) ?? 1) - 1;
        if (left <= 0) open.delete(key);
        else open.set(key, left);
      };
    },
    open: (key) => open.get(key) ?? 0,
  };
}
