// The per-resource check of one request: an object no rule allows is refused before anything goes
// upstream (403 in the API server's words plus the rule that is missing); a list or watch is refused
// when nothing in it could be allowed, else it gets the item check its response is filtered with.
import { readBoundedBody } from "../../lib/bounded-body.ts";
import { accessDenied } from "../../lib/errors.ts";
import type { FilterPlan } from "../filter/index.ts";
import { AccessRefused } from "../refusal.ts";
import type { RequestInfo } from "../request-info.ts";
import { checkCollection, checkGeneratedName, checkObject, type ResourceAccess } from "./access.ts";
import { createdName, generatedPrefix } from "./created-object.ts";
import { impliedVerbs } from "./implied-verbs.ts";
import { type CompiledRule, describeRule, type ResourceAttrs } from "./rules.ts";

/** Largest create body read for the new object's name (the API server's own request limit is 3 MiB). */
export const MAX_CREATE_BODY_BYTES = 3 * 1024 * 1024;

/**
 * Reviews about oneself answer only about the caller: never refused by kubernetes_resources (a
 * SelfSubjectAccessReview create is answered from the rules by access-review.ts instead).
 */
const SELF_REVIEWS = new Set([
  "authorization.k8s.io/selfsubjectaccessreviews",
  "authorization.k8s.io/selfsubjectrulesreviews",
  "authentication.k8s.io/selfsubjectreviews",
]);

export interface ResourceCheck {
  /** Set for a restricted list or watch: the forward stage filters the response with it. */
  filter?: FilterPlan;
  /** The request rebuilt around a body that was read (create without a name in the path). */
  request?: Request;
  /**
   * With `wantRoles`, for a request about objects: the roles whose allow rules reach them (a single
   * object: its rules match it; a collection: they could match something in it). Undefined for
   * requests about no object (discovery, /version): every role of the grant counts.
   */
  roles?: ReadonlySet<string>;
}

/** The kubernetes_resources verb: exec/attach → exec, portforward → portforward, else the API verb. */
export function rbacVerb(info: Pick<RequestInfo, "resource" | "subresource" | "verb">): string {
  if (info.resource === "pods" && (info.subresource === "exec" || info.subresource === "attach"))
    return "exec";
  if (info.resource === "pods" && info.subresource === "portforward") return "portforward";
  return info.verb;
}

/**
 * Checks one request against the grant's rules. Throws access_denied (403) with the API server's
 * Forbidden text, or bad_parameter when a create's object cannot be read. `wantRoles`: also say
 * which roles allow it (the grant narrows what is impersonated to theirs).
 */
export async function checkResources(
  access: ResourceAccess,
  info: RequestInfo,
  user: string,
  req: Request,
  wantRoles = false,
): Promise<ResourceCheck> {
  if ((access.unrestricted && !wantRoles) || !info.resourceRequest) return {};
  if (SELF_REVIEWS.has(`${info.apiGroup}/${info.resource}`)) return {};
  const { verb, kind, apiGroup, namespace } = scopeOf(info);
  if (isCollection(verb)) {
    const d = checkCollection(access, { verb, kind, apiGroup, namespace });
    if (d.refuse)
      throw accessDenied(
        forbiddenText(user, { verb, kind, apiGroup, namespace, name: "" }, access, d.deniedBy),
      );
    const roles = wantRoles ? { roles: d.roles } : {};
    if (d.all) return roles;
    if (verb === "deletecollection")
      throw refused(
        `${forbiddenText(user, { verb, kind, apiGroup, namespace, name: "" }, access)}\ndeletecollection is allowed only where your roles allow it on every ${kind} in scope; delete objects by name instead (kubectl delete ${kind} NAME …)`,
      );
    return { filter: { watch: verb === "watch", allows: d.allows }, ...roles };
  }
  if (info.name === undefined && verb === "create")
    return checkCreate(access, info, verb, user, req, wantRoles);
  const attrs: ResourceAttrs = { verb, kind, apiGroup, namespace, name: info.name ?? "" };
  const d = checkObject(access, attrs, wantRoles);
  if (!d.ok) throw refused(forbiddenText(user, attrs, access, d.deniedBy), d.deniedBy);
  // These only gate: the roles impersonated stay those that allow the request's own verb.
  const more = impliedRefusal(access, info, attrs, user, req.headers.get("content-type") ?? "");
  if (more) throw refused(more.text, more.deniedBy);
  return d.roles ? { roles: d.roles } : {};
}

/**
 * What the request does beyond its verb must be allowed on the object too (implied-verbs.ts): the
 * refusal of the first extra verb the rules do not allow, with why it is needed.
 */
export function impliedRefusal(
  access: ResourceAccess,
  info: Parameters<typeof impliedVerbs>[0],
  attrs: ResourceAttrs,
  user: string,
  contentType: string,
): { text: string; deniedBy?: CompiledRule } | undefined {
  for (const { verb, why } of impliedVerbs(info, contentType)) {
    const more = { ...attrs, verb };
    const d = checkObject(access, more);
    if (!d.ok)
      return { text: `${forbiddenText(user, more, access, d.deniedBy)}\n(${why})`, deniedBy: d.deniedBy };
  }
  return undefined;
}

/**
 * A create names its object in the body: read it (created-object.ts: as the API server reads it),
 * check that name — or, for generateName, every name the API server could give it — and rebuild
 * the request around the bytes read.
 */
async function checkCreate(
  access: ResourceAccess,
  info: RequestInfo,
  verb: string,
  user: string,
  req: Request,
  wantRoles: boolean,
): Promise<ResourceCheck> {
  const body = await readBody(req);
  const { name, generateName } = createdName(body, req.headers.get("content-type") ?? "");
  const request = new Request(req.url, {
    method: req.method,
    headers: req.headers,
    body,
    signal: req.signal,
  });
  const kind = info.resource;
  const apiGroup = info.apiGroup;
  const namespace = kind === "namespaces" && apiGroup === "" ? "" : (info.namespace ?? "");
  const attrs: ResourceAttrs = { verb, kind, apiGroup, namespace, name };
  if (name === "" && generateName !== "") {
    const prefix = generatedPrefix(generateName);
    const d = checkGeneratedName(access, attrs, prefix);
    if (d.ok) return { request, ...(wantRoles ? { roles: d.roles } : {}) };
    // The name in the message is the glob of every name the API server could give it.
    const text = forbiddenText(user, { ...attrs, name: `${prefix}*` }, access, d.deniedBy);
    throw refused(
      `${text}
(the object has generateName ${JSON.stringify(generateName)}: the API server names it ${JSON.stringify(prefix)} + 5 random characters, so a create is allowed only when your roles allow every such name and deny none)`,
      d.deniedBy,
    );
  }
  const d = checkObject(access, attrs, wantRoles);
  if (!d.ok) throw refused(forbiddenText(user, attrs, access, d.deniedBy), d.deniedBy);
  return { request, ...(d.roles ? { roles: d.roles } : {}) };
}

/** The verb, kind, group and namespace a request is checked as. */
function scopeOf(info: RequestInfo) {
  const verb = rbacVerb(info);
  const kind = info.resource;
  const apiGroup = info.apiGroup;
  // The namespace object X is cluster-scoped (the API server's RequestInfo puts X in namespace too).
  const namespace = kind === "namespaces" && apiGroup === "" ? "" : (info.namespace ?? "");
  return { verb, kind, apiGroup, namespace };
}

const isCollection = (verb: string) => verb === "list" || verb === "watch" || verb === "deletecollection";

/**
 * An open stream's request decided again under the rules in force now (sessions/ re-checks every
 * open stream when roles change): `refused` with the API server's Forbidden text when the rules no
 * longer allow it; else `view`, what a list or watch's item filter depends on — "all" when every
 * item is allowed, else the rules it reads, as written. Two equal views filter alike, so a watch
 * whose view changed shows the client something other than the rules now allow (objects it was
 * sent and may no longer see, or objects it now may see and was never sent): the revoker ends it
 * and the client lists again. Requests about one object (exec, logs -f, proxy) have the view "".
 */
export function streamAccess(access: ResourceAccess, info: RequestInfo, user: string): StreamAccess {
  if (access.unrestricted || !info.resourceRequest) return { view: isCollection(info.verb) ? "all" : "" };
  if (SELF_REVIEWS.has(`${info.apiGroup}/${info.resource}`)) return { view: "" };
  // A role change re-checks every open stream at once, many of them the same request under the same
  // grant (10,000 watches: ~60 ms of decisions on the event loop; remembered: a few ms).
  let memo = streamMemo.get(access);
  if (!memo) {
    memo = new Map();
    streamMemo.set(access, memo);
  }
  const key = `${user}\u0000${info.verb}\u0000${info.apiGroup}\u0000${info.resource}\u0000${info.subresource ?? ""}\u0000${info.namespace ?? ""}\u0000${info.name ?? ""}`;
  let hit = memo.get(key);
  if (!hit) {
    hit = decideStream(access, info, user);
    if (memo.size >= MAX_STREAM_MEMO) memo.clear();
    memo.set(key, hit);
  }
  return hit;
}

type StreamAccess = { refused: string } | { view: string };

/** Decisions per grant's rules (a new grant, after a role change, starts afresh). */
const streamMemo = new WeakMap<ResourceAccess, Map<string, StreamAccess>>();
const MAX_STREAM_MEMO = 10_000;

function decideStream(access: ResourceAccess, info: RequestInfo, user: string): StreamAccess {
  const scope = scopeOf(info);
  if (isCollection(scope.verb)) {
    const d = checkCollection(access, scope);
    if (d.refuse) return { refused: forbiddenText(user, { ...scope, name: "" }, access, d.deniedBy) };
    if (d.all) return { view: "all" };
    return {
      view: d.rules
        .map((r) => `${r.role}\u0000${r.side}\u0000${JSON.stringify(r.source)}`)
        .sort()
        .join("\n"),
    };
  }
  // A stream about one object was opened with its name in the path (a create without one reads
  // the name from a body, and never streams).
  const attrs: ResourceAttrs = { ...scope, name: info.name ?? "" };
  const d = checkObject(access, attrs);
  if (!d.ok) return { refused: forbiddenText(user, attrs, access, d.deniedBy) };
  // A node proxy stream (kubelet logs -f, exec) still needs every verb on the node. Streams are never
  // PUT or apply, so no Content-Type is needed.
  const more = impliedRefusal(access, info, attrs, user, "");
  return more ? { refused: more.text } : { view: "" };
}

/** A 403 for audit: `resource_denied` by a role's deny rule, else `no_resource_rule`. */
const refused = (message: string, deniedBy?: CompiledRule) =>
  deniedBy
    ? new AccessRefused(message, "resource_denied", `role/${deniedBy.role}`)
    : new AccessRefused(message, "no_resource_rule");

/**
 * The API server's Forbidden text (kubectl prints it after "Error from server (Forbidden): "), then
 * which rule refused it or that none allows it, and the rule that would.
 */
export function forbiddenText(
  user: string,
  a: ResourceAttrs,
  access: ResourceAccess,
  deniedBy?: CompiledRule,
): string {
  const what = a.name ? `${a.kind} ${JSON.stringify(a.name)}` : a.kind;
  const where = a.namespace ? `in the namespace ${JSON.stringify(a.namespace)}` : "at the cluster scope";
  const head = `${what} is forbidden: User ${JSON.stringify(user)} cannot ${a.verb} resource ${JSON.stringify(a.kind)} in API group ${JSON.stringify(a.apiGroup)} ${where}`;
  if (deniedBy)
    return `${head}\nrole ${JSON.stringify(deniedBy.role)} denies it: deny.kubernetes_resources[${deniedBy.index}] ${describeRule(deniedBy.source)}`;
  const roles = [...new Set(access.allow.map((r) => r.role))].map((r) => JSON.stringify(r)).join(", ");
  const wanted = describeRule({
    kind: a.kind,
    api_group: a.apiGroup,
    namespace: a.namespace,
    name: a.name || "*",
    verbs: [a.verb],
  });
  return `${head}\nno allow.kubernetes_resources rule of your roles (${roles}) allows it; a rule that would: ${wanted}. Ask your kubeport admin to add it to one of your roles.`;
}

/** The request's body, at most MAX_CREATE_BODY_BYTES, read no further (413 naming the limit over it). */
export const readBody = (req: Request): Promise<Uint8Array<ArrayBuffer>> =>
  readBoundedBody(req, MAX_CREATE_BODY_BYTES, "the API server's own limit");
