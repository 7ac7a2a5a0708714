// A JSON list (`PodList`, a custom resource's list) or a meta.k8s.io Table, filtered item by item:
// only each item's metadata name/namespace is parsed; kept items go out as the bytes upstream sent.
import { memberStart, objectRef, skipString, skipValue, stringAt, utf8 } from "./json-scan.ts";
import { FilterRefusal, type ItemCheck } from "./types.ts";

const OBJECT = utf8("object");
const COMMA = utf8(",");

/**
 * The pieces of the filtered body (subarrays of `body`, in order), in one pass over it. Throws
 * FilterRefusal for anything that is not a list, a Table or a Status (never passed through
 * unfiltered), for Table rows without their object's metadata, and for a body that is not one whole
 * JSON object (cut short).
 */
export function filterJsonList(body: Uint8Array, allows: ItemCheck): Uint8Array[] {
  let end = body.length;
  let i = 0;
  while (i < end && body[i]! <= 32) i++;
  while (end > i && body[end - 1]! <= 32) end--;
  const cut = () =>
    new FilterRefusal("upstream's list is not one whole JSON object (cut short?); no part of it is shown");
  if (body[i] !== 123) throw cut();
  i++;
  let kind: string | undefined;
  // Kept items of "items" (a list) or "rows" (a Table), decided as they pass; the list's bounds.
  let listKey: "items" | "rows" | undefined;
  let listStart = -1;
  let listEnd = -1;
  let kept: Uint8Array[] = [];
  let objectEnd = -1;
  while (i < end) {
    while (i < end && (body[i]! <= 32 || body[i] === 44)) i++;
    if (body[i] === 125) {
      objectEnd = i + 1;
      break;
    }
    if (body[i] !== 34) throw cut();
    const keyEnd = skipString(body, i, end);
    const key = keyEnd - i <= 7 ? stringAt(body, i, keyEnd) : "";
    i = keyEnd;
    while (i < end && body[i]! <= 32) i++;
    if (body[i] !== 58) throw cut();
    i++;
    while (i < end && body[i]! <= 32) i++;
    if ((key === "items" || key === "rows") && body[i] === 91 && listKey === undefined) {
      listKey = key;
      listStart = i;
      const r = filterArray(body, i, end, key === "rows", allows);
      kept = r.kept;
      listEnd = i = r.end;
      continue;
    }
    const valueEnd = skipValue(body, i, end);
    if (key === "kind" && body[i] === 34) kind = stringAt(body, i, valueEnd);
    i = valueEnd;
  }
  if (objectEnd !== end) throw cut();
  if (kind === "Status") return [body];
  const table = kind === "Table";
  if (!kind || !(table || kind.endsWith("List")))
    throw new FilterRefusal(
      `kubeport filters this request's answer item by item, and upstream answered with ${kind ? `a ${kind}` : "something that is not a Kubernetes list"}, which it cannot filter`,
      406,
    );
  if (listKey === undefined) return [body]; // `"items": null`: nothing to filter
  if ((listKey === "rows") !== table) throw new FilterRefusal(`a ${kind} with "${listKey}"`, 406);
  const out: Uint8Array[] = [body.subarray(0, listStart + 1)];
  kept.forEach((item, k) => {
    if (k > 0) out.push(COMMA);
    out.push(item);
  });
  out.push(body.subarray(listEnd - 1));
  return out;
}

/** The allowed elements of the array at body[start] (`[`) and the index just past its `]`. */
function filterArray(
  body: Uint8Array,
  start: number,
  end: number,
  rows: boolean,
  allows: ItemCheck,
): { kept: Uint8Array[]; end: number } {
  const kept: Uint8Array[] = [];
  let i = start + 1;
  for (;;) {
    while (i < end && (body[i]! <= 32 || body[i] === 44)) i++;
    if (i >= end)
      throw new FilterRefusal(
        "upstream's list is not one whole JSON object (cut short?); no part of it is shown",
      );
    if (body[i] === 93) return { kept, end: i + 1 };
    if (body[i] !== 123) throw new FilterRefusal("a list item is not an object", 406);
    const itemEnd = skipValue(body, i, end);
    if (body[itemEnd - 1] !== 125)
      throw new FilterRefusal(
        "upstream's list is not one whole JSON object (cut short?); no part of it is shown",
      );
    let ref: ReturnType<typeof objectRef>;
    if (rows) {
      const obj = memberStart(body, i, itemEnd, OBJECT);
      if (obj === undefined)
        throw new FilterRefusal(
          "Table rows carry no object metadata (includeObject=None), so kubeport cannot tell which rows you may see; leave includeObject at its default (Metadata)",
          406,
        );
      ref = objectRef(body, obj, itemEnd);
    } else ref = objectRef(body, i, itemEnd);
    // An item without a readable name is not shown (fail closed).
    if (ref && allows(ref.namespace, ref.name)) kept.push(body.subarray(i, itemEnd));
    i = itemEnd;
  }
}
