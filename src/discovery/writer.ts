// Applies a reconcile plan to the registry under the leader's fencing token.
import { describeError, isKind, unavailable } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { mapLimit } from "../lib/pool.ts";
import type { Backend, Fence, Resource } from "../registry/index.ts";
import type { AccessTarget } from "./access-entries.ts";
import type { ClusterSink } from "./cluster-view.ts";
import type { ReconcilePlan } from "./reconcile.ts";

export interface ApplyOptions {
  backend: Backend;
  plan: ReconcilePlan;
  fence?: Fence;
  signal: AbortSignal;
  log: Logger;
  /** Access targets by resource name: those written get `changed` (checked at once). */
  targets: Map<string, AccessTarget>;
  /**
   * The service's copy of the registry's kube_clusters: told of every write made (the resource
   * written with the revision the registry gave it, not the registry's parsed copy).
   */
  cache: ClusterSink;
}

/**
 * Creates, compare-and-swaps and deletes (16 at once each). A write that fails is logged and
 * retried by the next reconcile; a fenced one (a newer leader exists) stops everything at once.
 */
export async function applyPlan({ backend, plan, fence, signal, log, targets, cache }: ApplyOptions) {
  const opts = fence ? { fence } : undefined;
  const counts = { created: 0, updated: 0, deleted: 0, failed: 0 };
  const write = async (what: string, name: string, fn: () => Promise<unknown>, written?: Resource) => {
    if (signal.aborted) throw unavailable("reconcile aborted");
    try {
      const out = await fn();
      if (out && typeof out === "object") {
        const revision = (out as Resource).metadata.revision;
        cache.wrote(
          name,
          written && revision !== undefined
            ? { ...written, metadata: { ...written.metadata, revision } }
            : (out as Resource),
        );
      } else cache.deleted(name);
      return true;
    } catch (err) {
      if (isKind(err, "fenced")) throw err;
      counts.failed++;
      log.warn({ name, err: describeError(err) }, `${what} failed; retrying at the next reconcile`);
      return false;
    }
  };
  const touched = (name: string) => {
    const t = targets.get(name);
    if (t) t.changed = true;
  };
  await mapLimit(plan.create, 16, async (r) => {
    if (await write("create", r.metadata.name, () => backend.create(r, opts), r)) {
      counts.created++;
      touched(r.metadata.name);
      log.info({ name: r.metadata.name, arn: r.spec.aws?.arn }, "kube_cluster created");
    }
  });
  await mapLimit(plan.update, 16, async (r) => {
    if (await write("update", r.metadata.name, () => backend.compareAndSwap(r, opts), r)) {
      counts.updated++;
      touched(r.metadata.name);
      log.info({ name: r.metadata.name }, "kube_cluster updated");
    }
  });
  await mapLimit(plan.delete, 16, async (name) => {
    if (await write("delete", name, () => backend.delete("kube_cluster", name, opts))) {
      counts.deleted++;
      log.info({ name }, "kube_cluster deleted");
    }
  });
  return counts;
}
