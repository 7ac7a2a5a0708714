// Just enough Kubernetes protobuf decoding for the bodies kubectl sends as protobuf to the simulator
// (SelfSubjectAccessReview from `kubectl auth can-i`): the `k8s\0` envelope and length-delimited fields.

const MAGIC = [0x6b, 0x38, 0x73, 0x00];

/** Length-delimited fields of one protobuf message, by field number (other wire types are skipped). */
export function fields(buf: Uint8Array): Map<number, Uint8Array[]> {
  const out = new Map<number, Uint8Array[]>();
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = buf[i++];
      if (b === undefined) throw new Error("truncated protobuf varint");
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  while (i < buf.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const len = varint();
      if (i + len > buf.length) throw new Error("truncated protobuf field");
      const list = out.get(field) ?? [];
      list.push(buf.subarray(i, i + len));
      out.set(field, list);
      i += len;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}

const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

/** The `raw` object bytes inside a `k8s\0` + runtime.Unknown envelope, and its kind. */
export function unwrap(body: Uint8Array): { kind?: string; raw: Uint8Array } {
  if (!MAGIC.every((b, i) => body[i] === b)) throw new Error("not a Kubernetes protobuf envelope");
  const unknown = fields(body.subarray(4));
  const typeMeta = unknown.get(1)?.[0];
  const kind = typeMeta ? text(fields(typeMeta).get(2)?.[0]) : undefined;
  return { ...(kind ? { kind } : {}), raw: unknown.get(2)?.[0] ?? new Uint8Array() };
}

/** SelfSubjectAccessReview.spec as JSON from its protobuf encoding. */
export function selfSubjectAccessReviewSpec(raw: Uint8Array): Record<string, unknown> {
  const spec = fields(raw).get(2)?.[0];
  if (!spec) return {};
  const f = fields(spec);
  const ra = f.get(1)?.[0];
  const nra = f.get(2)?.[0];
  const pick = (msg: Uint8Array, names: string[]) => {
    const m = fields(msg);
    return Object.fromEntries(
      names.map((n, idx) => [n, text(m.get(idx + 1)?.[0])]).filter(([, v]) => v !== undefined),
    );
  };
  return {
    ...(ra
      ? {
          resourceAttributes: pick(ra, [
            "namespace",
            "verb",
            "group",
            "version",
            "resource",
            "subresource",
            "name",
          ]),
        }
      : {}),
    ...(nra ? { nonResourceAttributes: pick(nra, ["path", "verb"]) } : {}),
  };
}
