// The registry's kube_clusters as the leader sees them: a registry watch's snapshot, then its changes,
// with this leader's own writes applied at once (a watch event older than what the view holds is ignored).
import type { Backend, Resource, Watcher } from "../registry/index.ts";

/** Where the writer reports what it wrote, so the view is current before the watch echoes it. */
export interface ClusterSink {
  /** `name` was created or replaced; `stored` carries the revision the registry gave it. */
  wrote(name: string, stored: Resource): void;
  /** `name` was deleted (or was gone already). */
  deleted(name: string): void;
}

export interface ClusterView extends ClusterSink {
  /** Every kube_cluster by name (updated in place), or undefined until the watch's snapshot arrives. */
  current(): Map<string, Resource> | undefined;
  /** Resolves when the first snapshot has arrived. */
  ready: Promise<void>;
  /** Holds `r` instead of the equal copy the view has (same revision): it shares the fetch's strings. */
  keep(r: Resource): void;
  close(): void;
}

const revisionOf = (r: { metadata: { revision?: string } } | { revision?: string }) =>
  Number(("metadata" in r ? r.metadata.revision : r.revision) ?? 0);

/**
 * Watches kube_cluster; `onChange` is called when a snapshot arrives (the first, and a fresh one
 * after every reconnect or gap: it replaces everything) and when someone else's write changes the
 * view. The watch delivers in revision order but may lag our own writes (or, on Redis, deliver
 * their echo before the write's reply): so every event is compared by revision with what the view
 * holds, and a put older than a deletion of ours is dropped until the watch delivers a deletion.
 */
export function watchClusters(
  backend: Backend,
  onChange: () => void,
  onError?: (err: unknown) => void,
): ClusterView {
  let clusters: Map<string, Resource> | undefined;
  /** Names we deleted → the revision they had then; an older put still on its way is stale. */
  const gone = new Map<string, number>();
  /**
   * The highest revision the watch has delivered (of a snapshot: its newest resource's). A write of
   * ours at or below it was delivered already, with whatever came after it: its reply is old news.
   */
  let delivered = 0;
  let arrived = () => {};
  const ready = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const watcher: Watcher = backend.watch(
    { kinds: ["kube_cluster"] },
    (e) => {
      if (e.type === "init") {
        clusters = new Map(e.resources.map((r) => [r.metadata.name, r]));
        delivered = 0;
        for (const r of e.resources) delivered = Math.max(delivered, revisionOf(r));
        gone.clear();
        arrived();
        onChange();
        return;
      }
      if (!clusters) return;
      if (e.type === "put") {
        const name = e.resource.metadata.name;
        const rev = revisionOf(e.resource);
        delivered = Math.max(delivered, rev);
        const have = clusters.get(name);
        if (have && revisionOf(have) >= rev) return; // our own write's echo, or older
        const deletedAt = gone.get(name);
        if (deletedAt !== undefined && rev <= deletedAt) return; // written before our deletion
        gone.delete(name);
        clusters.set(name, e.resource);
        onChange();
        return;
      }
      delivered = Math.max(delivered, revisionOf(e));
      gone.delete(e.name);
      const have = clusters.get(e.name);
      if (!have || revisionOf(have) > revisionOf(e)) return; // gone already, or written again since
      clusters.delete(e.name);
      onChange();
    },
    onError,
  );
  return {
    current: () => clusters,
    ready,
    keep(r) {
      const have = clusters?.get(r.metadata.name);
      if (have && have.metadata.revision === r.metadata.revision) clusters!.set(r.metadata.name, r);
    },
    wrote(name, stored) {
      const have = clusters?.get(name);
      const rev = revisionOf(stored);
      // The watch may have delivered this write (then ours replaces its equal copy) or a later one,
      // or this write and then someone's delete (the view has no `name` any more: it stays so).
      if (!clusters || (have && revisionOf(have) > rev)) return;
      if (rev <= delivered && have?.metadata.revision !== stored.metadata.revision) return;
      clusters.set(name, stored);
    },
    deleted(name) {
      const have = clusters?.get(name);
      if (!have) return;
      clusters!.delete(name);
      gone.set(name, revisionOf(have));
    },
    close: () => watcher.close(),
  };
}

/** The same sink over a map read in full (pollOnce without start(): no watch runs). */
export function mapSink(clusters: Map<string, Resource>): ClusterSink {
  return {
    wrote: (name, stored) => void clusters.set(name, stored),
    deleted: (name) => void clusters.delete(name),
  };
}
