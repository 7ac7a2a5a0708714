// Resource kinds as people type them: `user`, `users`, `kube-cluster` all name the same kind (tctl accepts plurals too).
import { isKind, KINDS, type Kind } from "../registry/index.ts";
import { UsageError } from "./args.ts";

/** The kind a word names (singular or plural, `-` or `_`); UsageError listing the known kinds otherwise. */
export function parseKind(word: string): Kind {
  const norm = word.toLowerCase().replaceAll("-", "_");
  for (const candidate of [norm, norm.replace(/s$/, "")]) if (isKind(candidate)) return candidate;
  throw new UsageError(`unknown kind "${word}" (known: ${KINDS.join(", ")})`);
}
