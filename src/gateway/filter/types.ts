// What a response filter is given, and the one error it throws.
import { KubeportError } from "../../lib/errors.ts";

/** True when the user may see the object (namespace "" for cluster-scoped objects). */
export type ItemCheck = (namespace: string, name: string) => boolean;

/** What the forward stage filters a response with (set by the resource check for list and watch). */
export interface FilterPlan {
  watch: boolean;
  allows: ItemCheck;
}

/**
 * A list body filtered as it arrives: `push` each chunk in order, then `end` once upstream's body is
 * complete. Each returns the bytes that may be sent now, in order (none yet is fine). Both throw
 * FilterRefusal; `end` throws when what arrived is not one whole list, so the end of the answer
 * goes out only after the whole body was seen.
 */
export interface ListFilter {
  /**
   * True when what it holds between pushes are views of the chunks pushed (so they must stay as
   * they are); false when it copies what it holds, so a chunk's memory may be given back once the
   * bytes `push` returned for it were copied out.
   */
  readonly holdsViews: boolean;
  push(chunk: Uint8Array): Uint8Array[];
  end(): Uint8Array[];
}

/**
 * A response kubeport cannot filter: answered with a Status of `code` instead (never passed through
 * unfiltered). 502 for upstream's fault (cut short, not what it said), 406 for a type kubeport does
 * not filter.
 */
export class FilterRefusal extends KubeportError {
  readonly code: number;
  constructor(message: string, code = 502, cause?: unknown) {
    super("unavailable", message, { cause });
    this.name = "FilterRefusal";
    this.code = code;
  }
}

/**
 * The process-wide budget's account for one filtered list (limits/filter-budget.ts): what the list
 * reads from upstream is counted until it ends, and it reads on only when the budget allows.
 */
export interface ReadBudget {
  add(bytes: number): void;
  ready(): Promise<void>;
  close(): void;
}
