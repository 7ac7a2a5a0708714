// The body of a SelfSubjectAccessReview or SelfSubjectRulesReview, read one way for both (they are
// answered from kubernetes_resources: access-review.ts, rules-review.ts): JSON or protobuf by media
// type, strict UTF-8 JSON with no repeated member (the API server merges them, json-members.ts), the
// kind when given, apiVersion a string. What is read stays the review's own business (its readers).
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { badParameter, KubeportError } from "../../lib/errors.ts";
import { decodeEnvelope, MAGIC } from "../filter/index.ts";
import { members, repeatedMember } from "./json-members.ts";

export type ReviewKind = "SelfSubjectAccessReview" | "SelfSubjectRulesReview";

/** What a review reads from its body, as JSON or as protobuf. */
export interface ReviewReaders<T> {
  /** The body as a JSON object; `bad(what)` is the bad_parameter "the <kind>'s <what>". */
  json(raw: Record<string, unknown>, apiVersion: string, bad: (what: string) => KubeportError): T;
  /**
   * The enveloped message (kind checked, not encoded). Any plain Error it throws (a field cut short,
   * `onlyField`'s repeat, its own) is answered as a bad_parameter naming the review.
   */
  protobuf(message: Uint8Array, apiVersion: string): T;
}

const PROTOBUF = "application/vnd.kubernetes.protobuf";
const DEFAULT_VERSION = "authorization.k8s.io/v1";

/** Reads a review's body (bad_parameter, naming the review, for one kubeport cannot read). */
export function readReview<T>(
  kind: ReviewKind,
  body: Uint8Array,
  contentType: string,
  readers: ReviewReaders<T>,
): T {
  const media = contentType.split(";")[0]!.trim().toLowerCase();
  if (media === PROTOBUF) return readProtobuf(kind, body, readers.protobuf);
  if (media !== "" && media !== "application/json")
    throw badParameter(
      `kubeport answers ${kind} from kubernetes_resources and reads it as application/json or ${PROTOBUF}, not ${JSON.stringify(media)}`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (err) {
    throw badParameter(`the ${kind} is not JSON: ${(err as Error).message}`);
  }
  const bad = (what: string) => badParameter(`the ${kind}'s ${what}`);
  // A leading byte-order mark (TextDecoder drops it, Go refuses it) is not read either.
  if (!isObject(raw) || !members(body, 0)) throw bad("body is not an object");
  // The API server merges a repeated member (`spec` twice) where JSON.parse keeps the last: kubeport
  // would check one question and forward (or answer) another.
  const repeated = repeatedMember(body);
  if (repeated !== undefined)
    throw bad(
      `${JSON.stringify(repeated)} appears more than once; the API server merges repeated members, so kubeport cannot tell what it asks — send it once`,
    );
  if (raw.kind !== undefined && raw.kind !== kind)
    throw bad(`kind is ${JSON.stringify(raw.kind)}, not ${kind}`);
  const apiVersion = raw.apiVersion ?? DEFAULT_VERSION;
  if (typeof apiVersion !== "string") throw bad("apiVersion is not a string");
  return readers.json(raw, apiVersion, bad);
}

function readProtobuf<T>(kind: ReviewKind, body: Uint8Array, read: ReviewReaders<T>["protobuf"]): T {
  const bad = (why: string) => badParameter(`the protobuf ${kind} could not be read: ${why}`);
  // The envelope's own errors speak of upstream's answers (it reads those too); this body is the client's.
  if (!MAGIC.every((x, i) => body[i] === x)) throw bad("it does not start with the k8s\\0 envelope");
  let env: ReturnType<typeof decodeEnvelope>;
  try {
    env = decodeEnvelope(body);
  } catch (err) {
    throw bad((((err as Error).cause as Error | undefined) ?? (err as Error)).message);
  }
  if (env.kind !== kind) throw bad(`its kind is ${JSON.stringify(env.kind)}`);
  if (env.contentEncoding !== "") throw bad("it is encoded (contentEncoding)");
  try {
    return read(env.raw, env.apiVersion || DEFAULT_VERSION);
  } catch (err) {
    if (err instanceof KubeportError) throw err;
    throw bad((err as Error).message);
  }
}

/**
 * Length-delimited field `n` of a message. Twice is refused: Go merges repeated message fields, so
 * the API server would read both together where a reader taking one checks only part of it.
 */
export function onlyField(msg: Uint8Array, n: number): Uint8Array | undefined {
  const r = new BinaryReader(msg);
  let found: Uint8Array | undefined;
  while (r.pos < r.len) {
    const [f, w] = r.tag();
    if (f === n && w === WireType.LengthDelimited) {
      if (found) throw new Error(`field ${n} appears twice`);
      found = r.bytes();
    } else r.skip(w);
  }
  return found;
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
