// Counts the long-lived streams a simulated API server is serving, so tests can see one end upstream.

export type LiveKind = "watch" | "logs" | "exec" | "portforward";

export class LiveStreams {
  private readonly n: Record<LiveKind, number> = { watch: 0, logs: 0, exec: 0, portforward: 0 };

  /** Counts a stream as open; the returned function counts it closed (once). */
  open(kind: LiveKind): () => void {
    this.n[kind]++;
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      this.n[kind]--;
    };
  }

  counts(): Record<LiveKind, number> {
    return { ...this.n };
  }
}
