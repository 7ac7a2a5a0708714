// The name of an object being created (POST to a collection), read from the body the way the API
// server will read it, so the name kubeport checks is the name the object gets:
// - JSON: built-in kinds are decoded into Go structs (a repeated member is merged into the same
//   struct: `"metadata":{"name":"aws-auth"},"metadata":{}` is aws-auth), custom resources into maps
//   (the last one wins). JSON.parse keeps only the last. Two readers disagree on a repeated member,
//   so one in the metadata path is refused (400) — no client writes one.
// - protobuf: every ObjectMeta occurrence merged, the last value of a field winning (filter/protobuf.ts).
// - generateName: the API server names the object generateName (cut to 58 bytes) + 5 random
//   characters; the caller checks every name with that prefix.
import { accessDenied, badParameter } from "../../lib/errors.ts";
import { decodeEnvelope, protoObjectMeta } from "../filter/index.ts";
import { members } from "./json-members.ts";

export interface CreatedName {
  /** metadata.name ("" when absent). */
  name: string;
  /** metadata.generateName ("" when absent); used by the API server only when name is "". */
  generateName: string;
}

/** The API server's maxGeneratedNameLength (63 − the 5 random characters): a longer generateName is cut. */
export const MAX_GENERATED_PREFIX_BYTES = 58;

/** The prefix every generated name starts with: generateName cut to 58 bytes, as the API server cuts it. */
export function generatedPrefix(generateName: string): string {
  let bytes = 0;
  let out = "";
  for (const ch of generateName) {
    bytes += Buffer.byteLength(ch);
    if (bytes > MAX_GENERATED_PREFIX_BYTES) break;
    out += ch;
  }
  return out;
}

/** Reads name and generateName; throws bad_parameter / access_denied when they cannot be read for sure. */
export function createdName(body: Uint8Array, contentType: string): CreatedName {
  const media = contentType.split(";")[0]!.trim().toLowerCase();
  let read: CreatedName | undefined;
  if (media === "application/vnd.kubernetes.protobuf") {
    try {
      const meta = protoObjectMeta(decodeEnvelope(body).raw);
      if (meta) read = { name: meta.name, generateName: meta.generateName };
    } catch {
      // Refused below.
    }
  } else if (media === "" || media === "application/json") read = jsonCreatedName(body);
  if (read) return read;
  throw accessDenied(
    `kubeport reads the name of the object being created to check kubernetes_resources, and could not read it from this ${media || "untyped"} body (send JSON or protobuf)`,
  );
}

const decoder = new TextDecoder();

/** undefined when the body is not a JSON object whose metadata name fields are strings. */
function jsonCreatedName(body: Uint8Array): CreatedName | undefined {
  try {
    JSON.parse(decoder.decode(body));
  } catch {
    return undefined;
  }
  // Valid JSON from here on, so the walk below only has to find members, not check syntax. A
  // leading byte-order mark (TextDecoder drops it, Go refuses it) is not an object here: refused.
  const top = members(body, 0);
  if (!top) return undefined;
  const metas = top.filter((m) => m.key === "metadata");
  if (metas.length > 1)
    throw badParameter(
      'the object has "metadata" more than once; the API server merges repeated members, so kubeport cannot tell which name it checks — send it once',
    );
  const meta = metas[0];
  if (!meta || body[meta.start] === 0x6e /* null: Go leaves ObjectMeta empty */)
    return { name: "", generateName: "" };
  const fields = members(body, meta.start);
  if (!fields) return undefined;
  const seen = new Set<string>();
  for (const f of fields) {
    if (seen.has(f.key))
      throw badParameter(
        `the object's metadata has ${JSON.stringify(f.key)} more than once; the API server merges repeated members, so kubeport cannot tell which value it checks — send it once`,
      );
    seen.add(f.key);
  }
  const value = (key: string): string | null => {
    const f = fields.find((m) => m.key === key);
    if (!f) return "";
    const v = JSON.parse(decoder.decode(body.subarray(f.start, f.end))) as unknown;
    return typeof v === "string" ? v : null;
  };
  const name = value("name");
  const generateName = value("generateName");
  if (typeof name !== "string" || typeof generateName !== "string") return undefined;
  return { name, generateName };
}
