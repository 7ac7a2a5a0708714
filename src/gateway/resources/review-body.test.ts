// Both reviews answered from kubernetes_resources read their bodies one way (review-body.ts): a body
// one refuses, the other refuses with the same words.
import { expect, test } from "bun:test";
import { KubeportError } from "../../lib/errors.ts";
import { encodeEnvelope } from "../filter/index.ts";
import { resourceAccess } from "./access.ts";
import { reviewAccess } from "./access-review.ts";
import { type ReviewKind, readReview } from "./review-body.ts";
import { reviewRules } from "./rules-review.ts";

const PROTOBUF = "application/vnd.kubernetes.protobuf";
const none = resourceAccess([], []);

/** The message a review refuses `body` with, the review's kind written as <kind>. */
async function refusal(kind: ReviewKind, body: string | Uint8Array, type: string): Promise<string> {
  const req = new Request("https://gw/apis/authorization.k8s.io/v1/reviews", {
    method: "POST",
    headers: { "content-type": type },
    body: body as BodyInit,
  });
  const err = await (kind === "SelfSubjectAccessReview"
    ? reviewAccess(none, "u", req, false)
    : reviewRules(none, req)
  ).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(KubeportError);
  expect((err as KubeportError).kind).toBe("bad_parameter");
  return (err as Error).message.replaceAll(kind, "<kind>");
}

const envelope = (kind: string, raw: Uint8Array, contentEncoding = "") =>
  encodeEnvelope({ apiVersion: "authorization.k8s.io/v1", kind, raw, contentEncoding, contentType: "" });

test.each([
  [
    "YAML",
    "kind: X\n",
    "application/yaml",
    /reads it as application\/json or .*protobuf, not "application\/yaml"/,
  ],
  ["not JSON", "{", "application/json", /^the <kind> is not JSON: /],
  ["not UTF-8", new Uint8Array([0x7b, 0xff, 0x7d]), "application/json", /^the <kind> is not JSON: /],
  ["a byte-order mark", "\uFEFF{}", "application/json", /^the <kind>'s body is not an object$/],
  ["an array", "[]", "", /^the <kind>'s body is not an object$/],
  [
    "spec twice",
    '{"spec":{"namespace":"a"},"spec":{"namespace":"b"}}',
    "application/json",
    /^the <kind>'s "spec" appears more than once; the API server merges repeated members, so kubeport cannot tell what it asks — send it once$/,
  ],
  [
    "another kind",
    '{"kind":"Pod","spec":{}}',
    "application/json",
    /^the <kind>'s kind is "Pod", not <kind>$/,
  ],
  [
    "a number apiVersion",
    '{"apiVersion":1,"spec":{}}',
    "application/json",
    /^the <kind>'s apiVersion is not a string$/,
  ],
  [
    "protobuf without the envelope",
    "garbage",
    PROTOBUF,
    /^the protobuf <kind> could not be read: it does not start with the k8s\\0 envelope$/,
  ],
  [
    "a cut-short envelope",
    new Uint8Array([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x20]),
    PROTOBUF,
    /^the protobuf <kind> could not be read: /,
  ],
  [
    "an envelope of another kind",
    envelope("Pod", new Uint8Array()),
    PROTOBUF,
    /could not be read: its kind is "Pod"$/,
  ],
  [
    "an encoded envelope",
    (kind: string) => envelope(kind, new Uint8Array(), "gzip"),
    PROTOBUF,
    /could not be read: it is encoded \(contentEncoding\)$/,
  ],
  // spec (field 2) twice: Go merges repeated message fields.
  [
    "protobuf spec twice",
    (kind: string) => envelope(kind, new Uint8Array([0x12, 0x00, 0x12, 0x00])),
    PROTOBUF,
    /could not be read: field 2 appears twice$/,
  ],
])("%s: both reviews refuse it alike, never as upstream's fault", async (_what, body, type, why) => {
  const said: string[] = [];
  for (const kind of ["SelfSubjectAccessReview", "SelfSubjectRulesReview"] as const)
    said.push(await refusal(kind, typeof body === "function" ? body(kind) : body, type));
  expect(said[0]).toMatch(why);
  expect(said[1]).toBe(said[0]!);
  expect(said[0]).not.toContain("upstream");
});

test("a review's own kubeport error passes as it is; any other error of its protobuf reader names the review", () => {
  const body = envelope("SelfSubjectRulesReview", new Uint8Array());
  const own = new KubeportError("bad_parameter", "the reader's own words");
  const read = (fail: Error) => () =>
    readReview("SelfSubjectRulesReview", body, PROTOBUF, {
      json: () => 0,
      protobuf: () => {
        throw fail;
      },
    });
  expect(read(own)).toThrow(own);
  expect(read(new RangeError("premature EOF"))).toThrow(
    "the protobuf SelfSubjectRulesReview could not be read: premature EOF",
  );
});
