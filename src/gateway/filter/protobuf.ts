// Kubernetes protobuf (application/vnd.kubernetes.protobuf): the `k8s\0` envelope (runtime.Unknown),
// an object's name and namespace, and watch frames (4-byte length + enveloped WatchEvent) dropped or
// kept (lists: protobuf-list.ts). Only the field numbers every Kubernetes object shares are read
// (ObjectMeta = 1 with name = 1 and namespace = 3), so any kind — custom resources included — is
// filtered without its schema; everything else is copied as the bytes upstream sent.
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { FilterRefusal, type ItemCheck } from "./types.ts";

/** The 4 bytes before every protobuf-encoded Kubernetes object. */
export const MAGIC = new Uint8Array([0x6b, 0x38, 0x73, 0x00]);

/** runtime.Unknown: typeMeta (apiVersion, kind), raw (the object), contentEncoding, contentType. */
export interface Envelope {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

const hasMagic = (b: Uint8Array) =>
  b.length >= 4 && b[0] === 0x6b && b[1] === 0x38 && b[2] === 0x73 && b[3] === 0;

/** Decodes `k8s\0` + runtime.Unknown; throws FilterRefusal when it is not one. */
export function decodeEnvelope(b: Uint8Array): Envelope {
  if (!hasMagic(b))
    throw new FilterRefusal("upstream's protobuf answer does not start with the k8s envelope");
  const env: Envelope = {
    apiVersion: "",
    kind: "",
    raw: new Uint8Array(0),
    contentEncoding: "",
    contentType: "",
  };
  try {
    const r = new BinaryReader(b.subarray(4));
    while (r.pos < r.len) {
      const [field, wire] = r.tag();
      if (field === 1 && wire === WireType.LengthDelimited) {
        const t = new BinaryReader(r.bytes());
        while (t.pos < t.len) {
          const [f, w] = t.tag();
          if (f === 1 && w === WireType.LengthDelimited) env.apiVersion = t.string();
          else if (f === 2 && w === WireType.LengthDelimited) env.kind = t.string();
          else t.skip(w);
        }
      } else if (field === 2 && wire === WireType.LengthDelimited) env.raw = r.bytes();
      else if (field === 3 && wire === WireType.LengthDelimited) env.contentEncoding = r.string();
      else if (field === 4 && wire === WireType.LengthDelimited) env.contentType = r.string();
      else r.skip(wire);
    }
  } catch (err) {
    throw new FilterRefusal(
      `upstream's protobuf answer could not be read: ${(err as Error).message}`,
      502,
      err,
    );
  }
  return env;
}

/** Encodes `k8s\0` + runtime.Unknown. */
export function encodeEnvelope(env: Envelope): Uint8Array {
  const w = new BinaryWriter();
  w.raw(MAGIC);
  w.tag(1, WireType.LengthDelimited).fork();
  if (env.apiVersion) w.tag(1, WireType.LengthDelimited).string(env.apiVersion);
  if (env.kind) w.tag(2, WireType.LengthDelimited).string(env.kind);
  w.join();
  w.tag(2, WireType.LengthDelimited).bytes(env.raw);
  if (env.contentEncoding) w.tag(3, WireType.LengthDelimited).string(env.contentEncoding);
  if (env.contentType) w.tag(4, WireType.LengthDelimited).string(env.contentType);
  return w.finish();
}

/** The ObjectMeta fields kubeport reads: 1 name, 2 generateName, 3 namespace. */
export interface ProtoObjectMeta {
  namespace: string;
  name: string;
  generateName: string;
}

/**
 * An object message's ObjectMeta (field 1) read the way the API server's generated Go code reads it:
 * every occurrence of field 1 is merged into the one ObjectMeta (gogo's Unmarshal decodes each into
 * the same struct), and within it a repeated string field keeps its last value. Reading only the
 * first occurrence let `ObjectMeta{name: web-1}, ObjectMeta{name: aws-auth}` be checked as web-1 and
 * created as aws-auth. Undefined when there is no ObjectMeta, or when one of these fields has a wire
 * type the Go decoder refuses (it would reject the object; kubeport does not guess a name for it).
 */
export function protoObjectMeta(obj: Uint8Array): ProtoObjectMeta | undefined {
  const r = new BinaryReader(obj);
  let meta: ProtoObjectMeta | undefined;
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field !== 1) {
      r.skip(wire);
      continue;
    }
    if (wire !== WireType.LengthDelimited) return undefined;
    meta ??= { namespace: "", name: "", generateName: "" };
    const m = new BinaryReader(r.bytes());
    while (m.pos < m.len) {
      const [f, w] = m.tag();
      if (f !== 1 && f !== 2 && f !== 3) {
        m.skip(w);
        continue;
      }
      if (w !== WireType.LengthDelimited) return undefined;
      const value = m.string();
      if (f === 1) meta.name = value;
      else if (f === 2) meta.generateName = value;
      else meta.namespace = value;
    }
  }
  return meta;
}

/** Namespace and name from an object message (ObjectMeta merged as Go merges it: protoObjectMeta). */
export function protoObjectRef(obj: Uint8Array): { namespace: string; name: string } | undefined {
  const meta = protoObjectMeta(obj);
  return meta && { namespace: meta.namespace, name: meta.name };
}

type Verdict = "pass" | "drop";

/** One watch frame (enveloped WatchEvent: 1 type, 2 object = RawExtension{1 raw}). */
function frameVerdict(frame: Uint8Array, allows: ItemCheck): Verdict {
  const env = decodeEnvelope(frame);
  const r = new BinaryReader(env.raw);
  let type = "";
  let object: Uint8Array | undefined;
  while (r.pos < r.len) {
    const [f, w] = r.tag();
    if (f === 1 && w === WireType.LengthDelimited) type = r.string();
    else if (f === 2 && w === WireType.LengthDelimited) {
      const ext = new BinaryReader(r.bytes());
      while (ext.pos < ext.len) {
        const [ef, ew] = ext.tag();
        if (ef === 1 && ew === WireType.LengthDelimited) object = ext.bytes();
        else ext.skip(ew);
      }
    } else r.skip(w);
  }
  if (type === "ERROR" || type === "BOOKMARK") return "pass";
  if (type !== "ADDED" && type !== "MODIFIED" && type !== "DELETED")
    throw new FilterRefusal(`unknown watch event type ${JSON.stringify(type)}`);
  if (!object) return "drop";
  // The embedded object is itself enveloped (k8s\0 + Unknown), or a bare message.
  const ref = protoObjectRef(hasMagic(object) ? decodeEnvelope(object).raw : object);
  return ref && allows(ref.namespace, ref.name) ? "pass" : "drop";
}

/** Longest watch frame accepted (a frame is one object). */
export const MAX_WATCH_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * A protobuf watch stream (`;stream=watch`), filtered frame by frame. A frame kubeport cannot read
 * ends the stream (the client re-lists); nothing half-read is passed on.
 */
export function filterProtobufWatch(
  body: ReadableStream<Uint8Array>,
  allows: ItemCheck,
): ReadableStream<Uint8Array> {
  let held = new Uint8Array(0);
  let failed = false;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (failed) return;
        const buf = held.length ? concat(held, chunk) : chunk;
        let at = 0;
        const out: Uint8Array[] = [];
        try {
          while (buf.length - at >= 4) {
            const len = ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
            if (len > MAX_WATCH_FRAME_BYTES) throw new FilterRefusal(`a watch frame of ${len} bytes`);
            if (buf.length - at - 4 < len) break;
            const frame = buf.subarray(at + 4, at + 4 + len);
            if (frameVerdict(frame, allows) === "pass") out.push(buf.subarray(at, at + 4 + len));
            at += 4 + len;
          }
        } catch (err) {
          failed = true;
          for (const o of out) controller.enqueue(o);
          controller.error(err);
          return;
        }
        held = buf.slice(at);
        for (const o of out) controller.enqueue(o);
      },
      flush(controller) {
        if (!failed && held.length > 0)
          controller.error(new FilterRefusal("upstream ended the watch inside a frame"));
      },
    }),
  );
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
