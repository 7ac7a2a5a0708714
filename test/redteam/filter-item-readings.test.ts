// Red team 5 on issue 13's list filter (items walked once: json-item.ts): an item is shown only when
// every way a client's decoder may read its namespace/name gives one the user may see. Go's
// encoding/json keeps the LAST of two equal keys (and merges two `metadata` objects) and matches
// keys case-insensitively with simple folding (`ſ` is s, `K` is k); sigs.k8s.io/json (kubectl) is
// case-sensitive, keeps the last. Items here repeat `metadata`/`name`/`namespace`, spell them in
// another case or with escapes, hide look-alikes in strings with escaped quotes and backslashes,
// nest `metadata` deeper. Only an aggregated API server could send such bytes. The body goes
// through the filter split in two at EVERY byte offset, and one byte at a time; cut short at every
// byte, it must never come out as a whole list. On main before listfilt's 70db6c7 the filter showed
// db-1, db-2, db-7 and db-8 (it read the first name, and escaped keys as other keys); it passes since
// and fails when the walker's repeat check is undone.
import { expect, test } from "bun:test";
import { jsonListFilter } from "../../src/gateway/filter/json-list.ts";
import { FilterRefusal } from "../../src/gateway/filter/types.ts";

/** The user may see web-* in default only. */
const allows = (namespace: string, name: string) => namespace === "default" && name.startsWith("web-");

/** Items as upstream spells them; `show`: every reading is allowed and plain (must be shown); else must be hidden. */
const ITEMS: { raw: string; show?: string }[] = [
  // Two `name`s: the last is what Go reads.
  { raw: `{"metadata":{"name":"web-1","name":"db-1","namespace":"default"}}` },
  { raw: `{"metadata":{"name":"db-1b","name":"web-1b","namespace":"default"}}` },
  // Two `metadata`s: Go merges them, the second's name wins.
  { raw: `{"metadata":{"name":"web-2","namespace":"default"},"metadata":{"name":"db-2"}}` },
  // `Metadata` after `metadata`: encoding/json (case-insensitive, last wins) reads db-3.
  {
    raw: `{"metadata":{"name":"web-3","namespace":"default"},"Metadata":{"name":"db-3","namespace":"default"}}`,
  },
  { raw: `{"metadata":{"name":"web-4","Name":"db-4","namespace":"default"}}` },
  { raw: `{"metadata":{"name":"web-5","namespace":"default","NAMESPACE":"kube-system"}}` },
  // ſ (U+017F) folds to s: `nameſpace` is `namespace` to encoding/json.
  { raw: `{"metadata":{"name":"web-6","namespace":"default","name\u017fpace":"kube-system"}}` },
  // An escaped key is the key: `metadat\u0061` is a second metadata.
  { raw: `{"metadata":{"name":"web-7","namespace":"default"},"metadat\\u0061":{"name":"db-7"}}` },
  { raw: `{"metadata":{"name":"web-8","namespace":"default","n\\u0061me":"db-8"}}` },
  { raw: `{"metadata":{"name":"web-9","namespace":"default","\\u006eamespace":"kube-system"}}` },
  // Not an object / not a string: nothing readable.
  { raw: `{"metadata":null}` },
  { raw: `{"metadata":{"name":null,"namespace":"default"}}` },
  { raw: `{"metadata":{"name":["web-10"],"namespace":"default"}}` },
  { raw: `{"kind":"Pod"}` },
  // Plain ones, some with traps in strings and deeper objects: shown as they are.
  { raw: `{"metadata":{"n\\u0061me":"web-11","namespace":"default"}}`, show: "web-11" },
  {
    raw: `{"spec":{"x":"\\\\","metadata":{"name":"db-12"}},"metadata":{"name":"web-12","namespace":"default"}}`,
    show: "web-12",
  },
  {
    raw: `{"spec":{"s":"}{\\"\\\\\\"","a":[{"metadata":{"name":"db-13"}}],"b":[[[]]]},"metadata":{"namespace":"default","name":"web-13"}}`,
    show: "web-13",
  },
  {
    raw: `{ "metadata" : { "name" : "we\\u0062-14" , "namespace" : "default" } , "kind" : "Pod" }`,
    show: "web-14",
  },
  {
    raw: `{"metadata":{"annotations":{"name":"db-15","metadata":"{\\"name\\":\\"db-15\\"}"},"name":"web-15","namespace":"default"}}`,
    show: "web-15",
  },
  {
    raw: `{"metadata":{"name":"web-16","namespace":"default","nameX":"db-16","Namespaces":"kube-system"}}`,
    show: "web-16",
  },
  // Plain but not allowed.
  { raw: `{"metadata":{"name":"db-17","namespace":"default"}}` },
  { raw: `{"metadata":{"name":"web-18","namespace":"kube-system"}}` },
];
const BODY = new TextEncoder().encode(
  `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[${ITEMS.map((i) => i.raw).join(",")}]}`,
);
const SHOWN = ITEMS.flatMap((i) => (i.show ? [i.show] : []));

/** The filter's output for the body cut at `cuts`, read back as kubectl would (names of the items). */
function through(cuts: number[]): string[] {
  const f = jsonListFilter(allows, 1 << 20);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const at of [...cuts, BODY.length]) {
    // A copy per chunk: the filter may keep views of what it was given.
    out.push(...f.push(BODY.slice(from, at)));
    from = at;
  }
  out.push(...f.end());
  const text = Buffer.concat(out).toString("utf8");
  const list = JSON.parse(text) as { items: { metadata: { name: unknown } }[] };
  // What a client sees: each item's bytes, decoded. (JSON.parse keeps the last duplicate, as Go does.)
  return list.items.map((i) => String(i.metadata?.name));
}

test("whole: only the items every decoder reads as allowed are shown", () => {
  expect(through([])).toEqual(SHOWN);
});

test("split in two at every byte offset: the same items, and nothing else", () => {
  const wrong: string[] = [];
  for (let at = 1; at < BODY.length; at++) {
    let got: string[];
    try {
      got = through([at]);
    } catch (err) {
      wrong.push(`${at}: ${err instanceof FilterRefusal ? "refused" : "threw"} ${(err as Error).message}`);
      continue;
    }
    if (JSON.stringify(got) !== JSON.stringify(SHOWN)) wrong.push(`${at}: ${got.join(",")}`);
  }
  expect(wrong.slice(0, 5)).toEqual([]);
});

test("one byte at a time: the same items", () => {
  expect(through(Array.from({ length: BODY.length - 1 }, (_, i) => i + 1))).toEqual(SHOWN);
});

test("a body cut short at any byte is never answered as a whole list", () => {
  const whole: number[] = [];
  for (let at = 1; at < BODY.length; at++) {
    const f = jsonListFilter(allows, 1 << 20);
    const out: Uint8Array[] = [];
    try {
      out.push(...f.push(BODY.slice(0, at)));
      out.push(...f.end());
    } catch {
      continue; // refused: the client's answer is cut (filter-response aborts it)
    }
    try {
      JSON.parse(Buffer.concat(out).toString("utf8"));
      whole.push(at);
    } catch {
      // not JSON: a client sees a broken answer, never a shorter list
    }
  }
  expect(whole).toEqual([]);
});
