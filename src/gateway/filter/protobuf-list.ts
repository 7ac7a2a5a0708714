// A protobuf list (`k8s\0` + runtime.Unknown whose raw is a XxxList) filtered as it arrives: every
// field is length-prefixed, so an item is cut out by its length without reading it, and only a kept
// item's bytes are held (as views of upstream's chunks, not copies). The raw field's length comes
// before the items and changes with them, so the answer goes out in one piece once the whole body
// was read: protobuf lists are held, not streamed (JSON and Table lists are what kubectl streams).
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { concat } from "./json-list.ts";
import { MAGIC, protoObjectRef } from "./protobuf.ts";
import { FilterRefusal, type ItemCheck, type ListFilter } from "./types.ts";

/** Longest field header read: a tag and a length, each a varint of at most 10 bytes. */
const MAX_HEADER_BYTES = 20;

const unreadable = (why: string, cause?: unknown) =>
  new FilterRefusal(`upstream's protobuf list could not be read: ${why}`, 502, cause);
const notWhole = () =>
  new FilterRefusal(
    "upstream's protobuf list is not one whole message (cut short?), so kubeport does not answer it as a list",
  );

/** A streaming filter for one protobuf list body (ListFilter); a Status passes whole. */
export function protobufListFilter(allows: ItemCheck, maxHeld: number): ListFilter {
  return new ProtobufListFilter(allows, maxHeld);
}

/** A varint at b[at..end): [value, index past it], or undefined when it does not end before `end`. */
function varint(b: ArrayLike<number>, at: number, end: number): [number, number] | undefined {
  let v = 0;
  let scale = 1;
  for (let i = at; i < end && i - at < 10; i++) {
    const x = b[i]!;
    v += (x & 0x7f) * scale;
    if (x < 0x80) return [v, i + 1];
    scale *= 128;
  }
  if (end - at >= 10) throw unreadable("a varint longer than 10 bytes");
  return undefined;
}

function encodeVarint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}

type Stage = "envelope" | "raw" | "trailer" | "status";

class ProtobufListFilter implements ListFilter {
  readonly holdsViews = true;
  private stage: Stage = "envelope";
  /** The envelope until raw starts; the whole body for a Status; the fields after raw. */
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  /** Bytes before raw's tag (k8s\0, TypeMeta) and raw's tag, sent as they came. */
  private head: Uint8Array = new Uint8Array(0);
  private rawTag: Uint8Array = new Uint8Array(0);
  private rawLeft = 0;
  // The list field being read inside raw.
  private header: number[] = [];
  private payloadLeft = -1;
  private isItem = false;
  private parts: Uint8Array[] = [];
  private partBytes = 0;
  private kept: Uint8Array[] = [];
  private keptBytes = 0;

  constructor(
    private readonly allows: ItemCheck,
    private readonly maxHeld: number,
  ) {}

  push(b: Uint8Array): Uint8Array[] {
    let i = 0;
    if (this.stage === "envelope") {
      this.hold(b);
      const buf = concat(this.held);
      const start = this.envelope(buf);
      if (start === undefined) {
        this.held = [buf];
        return [];
      }
      this.held = [];
      this.heldBytes = 0;
      if ((this.stage as Stage) === "status") {
        this.hold(buf);
        return [];
      }
      b = buf;
      i = start;
    }
    if (this.stage === "raw") i = this.raw(b, i);
    if (i < b.length) this.hold(b.subarray(i));
    return [];
  }

  end(): Uint8Array[] {
    if (this.stage === "status") return this.held;
    if (this.stage !== "trailer") throw notWhole();
    const trailer = concat(this.held);
    try {
      const r = new BinaryReader(trailer);
      while (r.pos < r.len) {
        const [field, wire] = r.tag();
        if (field === 3 && r.string() !== "")
          throw unreadable("its object is encoded (contentEncoding), so kubeport cannot filter it");
        if (field !== 3) r.skip(wire);
      }
    } catch (err) {
      if (err instanceof FilterRefusal) throw err;
      throw notWhole();
    }
    return [this.head, this.rawTag, encodeVarint(this.keptBytes), ...this.kept, trailer];
  }

  private hold(part: Uint8Array) {
    this.heldBytes += part.length;
    if (this.heldBytes > this.maxHeld)
      throw new FilterRefusal(
        `upstream's protobuf answer has ${this.heldBytes} bytes or more outside its items; kubeport holds at most ${this.maxHeld}`,
      );
    this.held.push(part);
  }

  /**
   * Reads the envelope up to raw (TypeMeta comes first, as Go writes it): where raw's list starts
   * in `buf`, or undefined when more bytes are needed. Sets the stage: raw for a list, status.
   */
  private envelope(buf: Uint8Array): number | undefined {
    for (let k = 0; k < Math.min(4, buf.length); k++)
      if (buf[k] !== MAGIC[k])
        throw new FilterRefusal("upstream's protobuf answer does not start with the k8s envelope");
    let at = 4;
    let kind: string | undefined;
    for (;;) {
      const tag = varint(buf, at, buf.length);
      if (!tag) return undefined;
      if ((tag[0] & 7) !== 2) throw unreadable(`envelope field ${tag[0] >>> 3} is not length-delimited`);
      const len = varint(buf, tag[1], buf.length);
      if (!len) return undefined;
      const field = Math.floor(tag[0] / 8);
      if (field === 2) {
        if (kind === undefined) throw unreadable("its type comes after the object");
        if (kind === "Status") {
          this.stage = "status";
          return 0;
        }
        if (!kind.endsWith("List"))
          throw new FilterRefusal(
            `kubeport filters this request's answer item by item and cannot filter a protobuf ${kind || "object without a kind"}; ask for JSON`,
            406,
          );
        this.head = buf.subarray(0, at);
        this.rawTag = buf.subarray(at, tag[1]);
        this.rawLeft = len[0];
        this.stage = "raw";
        return len[1];
      }
      if (buf.length - len[1] < len[0]) return undefined;
      if (field === 1) kind = typeMetaKind(buf.subarray(len[1], len[1] + len[0]));
      at = len[1] + len[0];
    }
  }

  /** Raw's list fields from b[i]: items kept or dropped whole. Returns where raw ended (or b's end). */
  private raw(b: Uint8Array, i: number): number {
    const stop = Math.min(b.length, i + this.rawLeft);
    this.rawLeft -= stop - i;
    while (i < stop) {
      if (this.payloadLeft < 0) {
        this.header.push(b[i++]!);
        this.readHeader();
        continue;
      }
      const take = Math.min(stop - i, this.payloadLeft);
      this.parts.push(b.subarray(i, i + take));
      this.partBytes += take;
      this.payloadLeft -= take;
      i += take;
      if (this.partBytes > this.maxHeld)
        throw new FilterRefusal(
          `a list item of ${this.partBytes} bytes or more; kubeport filters items of at most ${this.maxHeld} bytes`,
        );
      if (this.payloadLeft === 0) this.finishField();
    }
    if (this.rawLeft === 0) {
      if (this.payloadLeft >= 0 || this.header.length > 0) throw unreadable("a field runs past the list");
      this.stage = "trailer";
    }
    return i;
  }

  /** Once the field's header (tag, and length or value) is complete: what follows is its payload. */
  private readHeader() {
    const h = this.header;
    if (h.length > MAX_HEADER_BYTES) throw unreadable("a field header longer than 20 bytes");
    const tag = varint(h, 0, h.length);
    if (!tag) return;
    const wire = tag[0] & 7;
    this.isItem = false;
    if (wire === 0) {
      if (varint(h, tag[1], h.length)) this.keep([Uint8Array.from(h)]);
      return;
    }
    if (wire === 1 || wire === 5) this.payloadLeft = wire === 1 ? 8 : 4;
    else if (wire === 2) {
      const len = varint(h, tag[1], h.length);
      if (!len) return;
      this.payloadLeft = len[0];
      this.isItem = Math.floor(tag[0] / 8) === 2;
    } else throw unreadable(`wire type ${wire}`);
    if (this.payloadLeft === 0) this.finishField();
  }

  private finishField() {
    const header = Uint8Array.from(this.header);
    const parts = this.parts;
    this.parts = [];
    this.partBytes = 0;
    this.payloadLeft = -1;
    if (this.isItem) {
      let ref: ReturnType<typeof protoObjectRef>;
      try {
        ref = protoObjectRef(concat(parts.length ? parts : [new Uint8Array(0)]));
      } catch (err) {
        throw unreadable((err as Error).message, err);
      }
      // An item without a readable name is not shown (fail closed).
      if (!ref || !this.allows(ref.namespace, ref.name)) {
        this.header = [];
        return;
      }
    }
    this.keep([header, ...parts]);
  }

  private keep(parts: Uint8Array[]) {
    for (const p of parts) {
      this.kept.push(p);
      this.keptBytes += p.length;
    }
    this.header = [];
  }
}

/** TypeMeta (1 apiVersion, 2 kind) → kind. */
function typeMetaKind(b: Uint8Array): string {
  try {
    const r = new BinaryReader(b);
    let kind = "";
    while (r.pos < r.len) {
      const [f, w] = r.tag();
      if (f === 2 && w === 2) kind = r.string();
      else r.skip(w);
    }
    return kind;
  } catch (err) {
    throw unreadable((err as Error).message, err);
  }
}
