// The response filter the forward stage applies to a list or watch that per-resource RBAC restricts:
// picks the filter by Content-Type (JSON list or Table, JSON watch, protobuf list or watch) and
// refuses anything else — an answer kubeport cannot filter is never passed through.
import { kubeStatus, statusResponse } from "../status.ts";
import { filterJsonList } from "./json-list.ts";
import { filterJsonWatch } from "./json-watch.ts";
import { filterProtobufList, filterProtobufWatch } from "./protobuf.ts";
import { type FilterPlan, FilterRefusal } from "./types.ts";

/**
 * Largest list body kubeport filters (it holds one whole list to filter it). Far above any list a
 * person pages through: kubectl asks 500 items a page; 5,000 pods are ~15 MB.
 */
export const MAX_FILTERED_LIST_BYTES = 256 * 1024 * 1024;

/** Answers 2xx lists and watches filtered; other answers (errors, 101) pass as they are. */
export async function filterResponse(
  res: Response,
  plan: FilterPlan,
  maxBytes = MAX_FILTERED_LIST_BYTES,
): Promise<Response> {
  if (res.status < 200 || res.status > 206 || !res.body) return res;
  try {
    const encoding = res.headers.get("content-encoding");
    if (encoding && encoding !== "identity")
      throw new FilterRefusal(
        `upstream answered ${encoding}-encoded; kubeport asked for an unencoded answer to filter`,
      );
    const type = (res.headers.get("content-type") ?? "").toLowerCase();
    const media = type.split(";")[0]!.trim();
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    if (plan.watch) {
      if (media === "application/json")
        return new Response(filterJsonWatch(res.body, plan.allows), { status: res.status, headers });
      if (media === "application/vnd.kubernetes.protobuf" && /;\s*stream=watch/.test(type))
        return new Response(filterProtobufWatch(res.body, plan.allows), { status: res.status, headers });
      throw unsupported(type);
    }
    if (media !== "application/json" && media !== "application/vnd.kubernetes.protobuf")
      throw unsupported(type);
    const body = await readAll(res, maxBytes);
    const parts =
      media === "application/json"
        ? filterJsonList(body, plan.allows)
        : [filterProtobufList(body, plan.allows)];
    // One buffer out (at most the size of the one read): a Response over the pieces would cost a
    // stream pull per item, far more than copying them.
    const out = join(parts);
    headers.set("content-length", String(out.length));
    return new Response(out as Uint8Array<ArrayBuffer>, { status: res.status, headers });
  } catch (err) {
    res.body.cancel().catch(() => {});
    if (!(err instanceof FilterRefusal)) throw err;
    return statusResponse(kubeStatus(err.code, err.message));
  }
}

function join(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const unsupported = (type: string) =>
  new FilterRefusal(
    `kubeport filters this answer item by item and cannot filter ${type ? `"${type}"` : "an answer without a Content-Type"} (it filters application/json, Table and application/vnd.kubernetes.protobuf)`,
    406,
  );

const brokeOff = (what: string, err?: unknown) =>
  new FilterRefusal(`upstream's answer broke off ${what}; no part of the list is shown`, 502, err);

/**
 * The whole body, or a FilterRefusal when upstream cut it short (fewer bytes than its
 * Content-Length, or the connection broke) or it is over `maxBytes`.
 */
async function readAll(res: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = res.headers.get("content-length");
  const expected = declared !== null && !res.headers.has("transfer-encoding") ? Number(declared) : undefined;
  const tooBig = (n: number) =>
    new FilterRefusal(
      `the list is ${n} bytes or more; kubeport filters lists of at most ${maxBytes} bytes — ask for fewer items a page (kubectl --chunk-size, ?limit=)`,
      502,
    );
  if (expected !== undefined) {
    if (expected > maxBytes) throw tooBig(expected);
    // A known length: read natively in one piece, then held to it.
    let all: Uint8Array;
    try {
      all = await res.bytes();
    } catch (err) {
      throw brokeOff(`(${(err as Error).message})`, err);
    }
    if (all.length !== expected) throw brokeOff(`after ${all.length} of ${expected} bytes`);
    return all;
  }
  const chunks: Uint8Array[] = [];
  let n = 0;
  const reader = res.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (n + value.length > maxBytes) throw tooBig(n + value.length);
      chunks.push(value);
      n += value.length;
    }
  } catch (err) {
    if (err instanceof FilterRefusal) throw err;
    throw brokeOff(`after ${n} bytes (${(err as Error).message})`, err);
  }
  return join(chunks);
}
