// Where a key path sits in a YAML document: the line a problem is reported at.
import { isMap, isPair, isScalar, isSeq, type LineCounter, type Node, type Pair } from "yaml";
import type { Segments } from "./schema-problems.ts";

/**
 * A `lineOf(segs, key)` for one parsed node (a document's contents, or an item of it): the line of
 * the value at `segs` (of its key when `key`), else of the nearest ancestor that exists.
 */
export function yamlLineOf(
  root: Node | null | undefined,
  lineCounter: LineCounter,
): (segs: Segments, key: boolean) => number | undefined {
  return (segs, key) => {
    const node = locate(root ?? null, segs, key);
    return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  };
}

/** The YAML node at a path (the key node when `key`); the nearest existing ancestor otherwise. */
export function locate(root: Node | null, segs: Segments, key: boolean): Node | undefined {
  let node: Node | null | undefined = root;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const last = i === segs.length - 1;
    if (isMap(node)) {
      const pair: Pair | undefined = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
      );
      if (!pair) return node;
      const value = pair.value as Node | null;
      if (last && key) return pair.key as Node;
      node = value ?? (pair.key as Node);
      if (!value) return node;
    } else if (isSeq(node) && typeof seg === "number") {
      const item = node.items[seg] as Node | undefined;
      if (!item) return node;
      node = item;
    } else {
      return node ?? undefined;
    }
  }
  return node ?? undefined;
}
