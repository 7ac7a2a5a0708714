// `kubectl auth can-i` (a SelfSubjectAccessReview POST) answered from kubernetes_resources, as
// Teleport does (self_subject_reviews.go): a review the roles' rules refuse is answered here —
// allowed: false, denied: true, the reason naming the rule — and never reaches the cluster, whose RBAC
// may well say yes for the impersonated groups. A review the rules allow goes upstream, where the
// cluster's RBAC answers (impersonating the roles that allow it); so does one about a non-resource
// URL (`kubectl auth can-i get /logs`).
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { badParameter } from "../../lib/errors.ts";
import { knownKind } from "../../lib/kube-kinds.ts";
import {
  checkCollection,
  checkObject,
  checkWideQuestion,
  EVERY,
  type ResourceAccess,
  type WideQuestion,
} from "./access.ts";
import { forbiddenText, impliedRefusal, rbacVerb, readBody } from "./request-check.ts";
import { isObject, onlyField, readReview } from "./review-body.ts";
import type { ResourceAttrs } from "./rules.ts";

export const ACCESS_REVIEW = "authorization.k8s.io/selfsubjectaccessreviews";

export interface ReviewDecision {
  /** The review answered here (201, as the API server answers a create). */
  answer?: Response;
  /** The request rebuilt around the body that was read (it goes upstream). */
  request?: Request;
  /** With `wantRoles`: the roles whose rules allow what the review asks about. */
  roles?: ReadonlySet<string>;
}

/** spec.resourceAttributes, as far as kubernetes_resources reads it. */
interface Asked {
  namespace: string;
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  name: string;
}

const FIELDS = ["namespace", "verb", "group", "resource", "subresource", "name"] as const;

/**
 * Decides a SelfSubjectAccessReview. Throws bad_parameter for a body kubeport cannot read (it does
 * not send upstream what it could not check).
 */
export async function reviewAccess(
  access: ResourceAccess,
  user: string,
  req: Request,
  wantRoles: boolean,
): Promise<ReviewDecision> {
  const body = await readBody(req);
  const request = new Request(req.url, {
    method: req.method,
    headers: req.headers,
    body,
    signal: req.signal,
  });
  const review = parseReview(body, req.headers.get("content-type") ?? "");
  const asked = review.spec.resourceAttributes;
  if (!asked) return { request };
  const { resource: kind, subresource } = splitResource(asked);
  const apiGroup = asked.group;
  // The namespace object X is cluster-scoped (as for requests, request-check.ts).
  const namespace = kind === "namespaces" && apiGroup === "" ? "" : asked.namespace;
  let refusal: string | undefined;
  let roles: ReadonlySet<string> | undefined;
  const wide = [asked.verb, kind, subresource, apiGroup, namespace, asked.name].includes("*");
  if (wide) {
    // A `*` asks about all of them (the API server's RBAC: only a `*` in a rule answers yes).
    const attrs: ResourceAttrs = { verb: asked.verb, kind, apiGroup, namespace, name: asked.name };
    const d = checkWideQuestion(
      access,
      wideQuestion(asked.verb, kind, subresource, apiGroup, namespace, asked.name),
    );
    if (d.ok) roles = d.roles;
    else
      refusal = `${forbiddenText(user, attrs, access, d.deniedBy)}; a "*" in a review asks about all of them: kubeport lets the cluster answer only when no deny rule could match any of it and one allow rule covers all of it`;
  } else {
    const verb = rbacVerb({ resource: kind, subresource, verb: asked.verb });
    const attrs: ResourceAttrs = { verb, kind, apiGroup, namespace, name: asked.name };
    if (asked.name !== "") {
      const d = checkObject(access, attrs, wantRoles);
      if (d.ok) roles = d.roles;
      else refusal = forbiddenText(user, attrs, access, d.deniedBy);
      // The same extra verbs the request itself would need (implied-verbs.ts: `can-i create
      // pods/eviction` is no without delete). No Content-Type: a server-side apply cannot be asked.
      const info = {
        verb: asked.verb,
        apiGroup,
        resource: kind,
        name: asked.name,
        ...(subresource === "" ? {} : { subresource }),
      };
      if (refusal === undefined) refusal = impliedRefusal(access, info, attrs, user, "")?.text;
    } else {
      // No name: every object of the kind in scope, as for a list — refused when the rules could
      // allow none of it (deletecollection: when they do not allow all of it).
      const d = checkCollection(access, { verb, kind, apiGroup, namespace });
      if (d.refuse) refusal = forbiddenText(user, attrs, access, d.deniedBy);
      else if (verb === "deletecollection" && !d.all) refusal = forbiddenText(user, attrs, access);
      else roles = d.roles;
    }
  }
  if (refusal === undefined) return { request, ...(wantRoles && roles ? { roles } : {}) };
  const answer = {
    kind: "SelfSubjectAccessReview",
    apiVersion: review.apiVersion,
    metadata: { creationTimestamp: null },
    spec: review.raw.spec,
    // kubectl prints `no - <reason>`: one line.
    status: { allowed: false, denied: true, reason: `kubeport: ${refusal.replace(/\n/g, "; ")}` },
  };
  return { answer: Response.json(answer, { status: 201 }) };
}

/**
 * The API server's RBAC joins resource and subresource with "/" and matches the result, so
 * `resource: "pods/exec"` (no subresource) asks about pods/exec: read it as resource pods,
 * subresource exec. Anything else with a "/" is refused rather than guessed at.
 */
function splitResource(asked: Asked): { resource: string; subresource: string } {
  if (!asked.resource.includes("/")) return { resource: asked.resource, subresource: asked.subresource };
  const parts = asked.resource.split("/");
  if (asked.subresource !== "" || parts.length !== 2 || parts[0] === "" || parts[1] === "")
    throw badParameter(
      `the SelfSubjectAccessReview's spec.resourceAttributes.resource ${JSON.stringify(asked.resource)} is not "resource" or "resource/subresource" with an empty subresource field; send the subresource in spec.resourceAttributes.subresource`,
    );
  return { resource: parts[0]!, subresource: parts[1]! };
}

/**
 * The kubernetes_resources verbs a review may ask about: exec/attach of pods is `exec`,
 * portforward `portforward` (rbacVerb); a subresource `*` of pods may be either, or the plain verb.
 */
function wideQuestion(
  verb: string,
  kind: string,
  subresource: string,
  apiGroup: string,
  namespace: string,
  name: string,
): WideQuestion {
  const any = (v: string) => (v === "*" ? EVERY : v);
  let verbs: string[] | typeof EVERY = EVERY;
  if (verb !== "*") {
    const pods = kind === "*" || kind === "pods";
    const set = new Set<string>();
    if (pods && ["exec", "attach", "*"].includes(subresource)) set.add("exec");
    if (pods && ["portforward", "*"].includes(subresource)) set.add("portforward");
    if (!(kind === "pods" && ["exec", "attach", "portforward"].includes(subresource))) set.add(verb);
    verbs = [...set];
  }
  // No namespace: every namespace — or the cluster scope only, for a kind known to be cluster-scoped.
  const known = kind === "*" ? undefined : knownKind(kind);
  const clusterScoped = known?.namespaced === false && apiGroup === known.group;
  const ns = namespace === "" && !clusterScoped ? EVERY : any(namespace);
  return { verbs, kind: any(kind), apiGroup: any(apiGroup), namespace: ns, name: any(name) };
}

interface Review {
  apiVersion: string;
  spec: { resourceAttributes?: Asked };
  /** The body as sent, for the answer's spec. */
  raw: { spec: unknown };
}

function parseReview(body: Uint8Array, contentType: string): Review {
  return readReview("SelfSubjectAccessReview", body, contentType, {
    json: (raw, apiVersion, bad) => {
      const spec = raw.spec;
      if (!isObject(spec)) throw bad("spec is missing or not an object");
      const ra = spec.resourceAttributes;
      if (ra === undefined || ra === null) {
        if (spec.nonResourceAttributes === undefined || spec.nonResourceAttributes === null)
          throw bad("spec has neither resourceAttributes nor nonResourceAttributes");
        return { apiVersion, spec: {}, raw: { spec } };
      }
      if (!isObject(ra)) throw bad("spec.resourceAttributes is not an object");
      const asked = {} as Asked;
      for (const f of FIELDS) {
        const v = ra[f] ?? "";
        if (typeof v !== "string") throw bad(`spec.resourceAttributes.${f} is not a string`);
        asked[f] = v;
      }
      return { apiVersion, spec: { resourceAttributes: asked }, raw: { spec } };
    },
    protobuf: protobufReview,
  });
}

/** Protobuf field numbers of ResourceAttributes that kubernetes_resources reads (version 4 is shown only). */
const NUMBERS: Record<number, keyof Asked> = {
  1: "namespace",
  2: "verb",
  3: "group",
  5: "resource",
  6: "subresource",
  7: "name",
};

/**
 * kubectl auth can-i sends protobuf: SelfSubjectAccessReview (spec = 2) → spec (resourceAttributes
 * = 1, nonResourceAttributes = 2) → ResourceAttributes (namespace 1, verb 2, group 3, version 4,
 * resource 5, subresource 6, name 7; the selectors after are not kubernetes_resources' business).
 */
function protobufReview(message: Uint8Array, apiVersion: string): Review {
  const spec = onlyField(message, 2);
  const ra = spec && onlyField(spec, 1);
  const nra = spec && onlyField(spec, 2);
  if (!ra) {
    if (!nra) throw new Error("spec has neither resourceAttributes nor nonResourceAttributes");
    return { apiVersion, spec: {}, raw: { spec: {} } };
  }
  const asked: Asked = { namespace: "", verb: "", group: "", resource: "", subresource: "", name: "" };
  const r = new BinaryReader(ra);
  let version = "";
  while (r.pos < r.len) {
    const [f, w] = r.tag();
    const key = NUMBERS[f];
    if (key && w === WireType.LengthDelimited) asked[key] = r.string();
    else if (f === 4 && w === WireType.LengthDelimited) version = r.string();
    else r.skip(w);
  }
  const shown: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...asked, version })) if (v !== "") shown[k] = v;
  return { apiVersion, spec: { resourceAttributes: asked }, raw: { spec: { resourceAttributes: shown } } };
}
