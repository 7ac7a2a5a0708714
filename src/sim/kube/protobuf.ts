// Protobuf answers (application/vnd.kubernetes.protobuf), as kube-apiserver sends them to clients that
// prefer it: the `k8s\0` + runtime.Unknown envelope around a list, and length-prefixed watch frames.
// Objects carry their ObjectMeta (name, namespace, uid, resourceVersion, labels) only: what proxies
// and the tests read; a real apiserver also encodes spec and status.
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { KubeObject } from "./store.ts";

export const PROTOBUF = "application/vnd.kubernetes.protobuf";
const MAGIC = new Uint8Array([0x6b, 0x38, 0x73, 0x00]);

/** True when the client's first choice is protobuf (client-go asks protobuf first, then anything). */
export function wantsProtobuf(accept: string | null): boolean {
  const first = (accept ?? "").split(",")[0]!.split(";")[0]!.trim();
  return first === PROTOBUF;
}

function objectMessage(o: KubeObject): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).fork();
  const m = o.metadata;
  if (m.name) w.tag(1, WireType.LengthDelimited).string(m.name);
  if (m.namespace) w.tag(3, WireType.LengthDelimited).string(m.namespace);
  if (m.uid) w.tag(5, WireType.LengthDelimited).string(m.uid);
  if (m.resourceVersion) w.tag(6, WireType.LengthDelimited).string(m.resourceVersion);
  for (const [k, v] of Object.entries((m.labels ?? {}) as Record<string, string>))
    w.tag(11, WireType.LengthDelimited)
      .fork()
      .tag(1, WireType.LengthDelimited)
      .string(k)
      .tag(2, WireType.LengthDelimited)
      .string(v)
      .join();
  w.join();
  return w.finish();
}

function envelope(apiVersion: string, kind: string, raw: Uint8Array): Uint8Array {
  const w = new BinaryWriter();
  w.raw(MAGIC);
  w.tag(1, WireType.LengthDelimited)
    .fork()
    .tag(1, WireType.LengthDelimited)
    .string(apiVersion)
    .tag(2, WireType.LengthDelimited)
    .string(kind)
    .join();
  w.tag(2, WireType.LengthDelimited).bytes(raw);
  return w.finish();
}

/** A `<Kind>List` in protobuf: ListMeta (2 resourceVersion, 3 continue) and the items. */
export function protobufList(
  apiVersion: string,
  kind: string,
  listMeta: Record<string, string>,
  items: KubeObject[],
): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).fork();
  if (listMeta.resourceVersion) w.tag(2, WireType.LengthDelimited).string(listMeta.resourceVersion);
  if (listMeta.continue) w.tag(3, WireType.LengthDelimited).string(listMeta.continue);
  w.join();
  for (const o of items) w.tag(2, WireType.LengthDelimited).bytes(objectMessage(o));
  return envelope(apiVersion, `${kind}List`, w.finish());
}

/** One watch frame: 4-byte big-endian length, then an enveloped WatchEvent whose object is enveloped too. */
export function protobufWatchFrame(type: string, o: KubeObject): Uint8Array {
  const object = envelope(o.apiVersion, o.kind, objectMessage(o));
  const ev = new BinaryWriter()
    .tag(1, WireType.LengthDelimited)
    .string(type)
    .tag(2, WireType.LengthDelimited)
    .fork()
    .tag(1, WireType.LengthDelimited)
    .bytes(object)
    .join()
    .finish();
  const frame = envelope("v1", "WatchEvent", ev);
  const out = new Uint8Array(4 + frame.length);
  new DataView(out.buffer).setUint32(0, frame.length);
  out.set(frame, 4);
  return out;
}
