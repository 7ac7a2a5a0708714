// Bytes held by filtered lists (kubernetes_resources) over the whole process. A filtered list is read
// from upstream by the gateway itself, so what it has read and not yet handed on is the gateway's to
// hold (an unfiltered answer is piped by Bun with TCP backpressure and holds nothing). Without a
// budget, N concurrent filtered lists of one low-privilege user hold N lists' worth of upstream bytes.
//
// Each list counts what it has read from upstream (at least its declared Content-Length once known)
// until it ends. Over the budget: a new filtered list is refused (429, Retry-After) before it goes
// upstream, or as soon as its declared length would not fit; a running list stops reading from
// upstream until the budget frees, except the oldest one, which always reads on — so lists finish
// one by one and never wait on each other for ever.

export interface FilterAccount {
  /**
   * Counts `declared` bytes (the answer's Content-Length) at once. False when they do not fit and
   * other lists hold bytes: the caller refuses this list (429). A list alone is always admitted,
   * however big (one list is what the API server itself answers).
   */
  reserve(declared: number): boolean;
  /** Counts `bytes` more read from upstream (beyond what reserve counted). */
  add(bytes: number): void;
  /** Resolves once this list may read on (at once when within the budget, or the oldest list). */
  ready(): Promise<void>;
  /** Gives the list's bytes back (once; later calls do nothing). */
  close(): void;
}

export interface FilterBudget {
  readonly cap: number;
  /** Bytes held by every running filtered list together. */
  total(): number;
  /** True when a new filtered list would be refused now. */
  full(): boolean;
  open(): FilterAccount;
}

/** One budget per process (per gateway) of `cap` bytes (proxy_service.limits.filtered_list_bytes_total). */
export function createFilterBudget(cap: number): FilterBudget {
  let total = 0;
  /** Running lists, oldest first (a Set keeps insertion order). */
  const running = new Set<object>();
  /** Lists paused over the budget, woken whenever bytes are given back. */
  let waiters: (() => void)[] = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  return {
    cap,
    total: () => total,
    full: () => total >= cap,
    open() {
      const me = {};
      running.add(me);
      let counted = 0;
      let read = 0;
      let closed = false;
      const oldest = () => running.values().next().value === me;
      const may = () => closed || total <= cap || oldest();
      return {
        reserve(declared) {
          if (closed || declared <= counted) return true;
          if (total > counted && total + declared - counted > cap) return false;
          total += declared - counted;
          counted = declared;
          return true;
        },
        add(bytes) {
          if (closed) return;
          read += bytes;
          if (read > counted) {
            total += read - counted;
            counted = read;
          }
        },
        ready() {
          if (may()) return Promise.resolve();
          return new Promise<void>((resolve) => {
            const check = () => (may() ? resolve() : waiters.push(check));
            waiters.push(check);
          });
        },
        close() {
          if (closed) return;
          closed = true;
          total -= counted;
          counted = 0;
          running.delete(me);
          wake();
        },
      };
    },
  };
}
