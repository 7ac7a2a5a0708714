// A JSON list (`PodList`, a custom resource's list) or a meta.k8s.io Table, filtered item by item:
// only each item's metadata name/namespace is parsed; kept items go out as the bytes upstream sent.
import { findMember, objectRef, parseRange, skipValue, utf8 } from "./json-scan.ts";
import { FilterRefusal, type ItemCheck } from "./types.ts";

const ITEMS = utf8("items");
const ROWS = utf8("rows");
const KIND = utf8("kind");
const OBJECT = utf8("object");
const COMMA = utf8(",");

/**
 * The pieces of the filtered body (subarrays of `body`, in order). Throws FilterRefusal for anything
 * that is not a list, a Table or a Status (never passed through unfiltered), and for Table rows
 * without their object's metadata.
 */
export function filterJsonList(body: Uint8Array, allows: ItemCheck): Uint8Array[] {
  let end = body.length;
  let start = 0;
  while (start < end && body[start]! <= 32) start++;
  while (end > start && body[end - 1]! <= 32) end--;
  // A body cut short (or not one JSON object) is refused, never shown as a shorter list.
  if (body[start] !== 123 || skipValue(body, start, end) !== end || body[end - 1] !== 125)
    throw new FilterRefusal(
      "upstream's list is not one whole JSON object (cut short?); no part of it is shown",
    );
  const kindRange = findMember(body, start, end, KIND);
  const kind =
    kindRange && body[kindRange[0]] === 34
      ? (parseRange(body, kindRange[0], kindRange[1]) as string)
      : undefined;
  if (kind === "Status") return [body];
  const table = kind === "Table";
  if (!kind || !(table || kind.endsWith("List")))
    throw new FilterRefusal(
      `kubeport filters this request's answer item by item, and upstream answered with ${kind ? `a ${kind}` : "something that is not a Kubernetes list"}, which it cannot filter`,
      406,
    );
  const list = findMember(body, start, end, table ? ROWS : ITEMS);
  if (!list || body[list[0]] !== 91) return [body]; // `"items": null`: nothing to filter
  const out: Uint8Array[] = [body.subarray(0, list[0] + 1)];
  let i = list[0] + 1;
  let first = true;
  for (;;) {
    while (i < list[1] && (body[i]! <= 32 || body[i] === 44)) i++;
    if (i >= list[1] - 1) break; // at the closing ]
    const itemEnd = skipValue(body, i, list[1]);
    if (body[i] !== 123) throw new FilterRefusal("a list item is not an object");
    let ref: ReturnType<typeof objectRef>;
    if (table) {
      const obj = findMember(body, i, itemEnd, OBJECT);
      if (!obj)
        throw new FilterRefusal(
          "Table rows carry no object metadata (includeObject=None), so kubeport cannot tell which rows you may see; leave includeObject at its default (Metadata)",
          406,
        );
      ref = objectRef(body, obj[0], obj[1]);
    } else ref = objectRef(body, i, itemEnd);
    // An item without a readable name is not shown (fail closed).
    if (ref && allows(ref.namespace, ref.name)) {
      if (!first) out.push(COMMA);
      out.push(body.subarray(i, itemEnd));
      first = false;
    }
    i = itemEnd;
  }
  out.push(body.subarray(list[1] - 1));
  return out;
}
