// Kubernetes request attributes (verb, API group, resource, namespace, name, subresource) from method +
// path + query, parsed once per request the way the API server's RequestInfoResolver derives them.
// Audit, WebSocket authorisation and per-resource RBAC (resources/) all read this one parse.
import { kubeBool } from "./long-lived.ts";
import { parseQuery } from "./request-info-query.ts";

export interface RequestInfo {
  /**
   * The API server's verb: get list watch create update patch delete deletecollection (a WebSocket
   * exec/attach/portforward GET is set to create by the middleware, as the API server sees it).
   */
  verb: string;
  /** "" for the core group (`/api/v1`). */
  apiGroup: string;
  /** "core/v1", "apps/v1" (Teleport's resource_api_group); absent for non-resource paths. */
  groupVersion?: string;
  /** Plural resource (`pods`); "" for non-resource paths. */
  resource: string;
  subresource?: string;
  /**
   * The namespace in the path. For a namespace object itself (`/api/v1/namespaces/X`) this is X,
   * as the API server's RequestInfo has it; per-resource RBAC treats that object as cluster-scoped.
   */
  namespace?: string;
  name?: string;
  /** False for /version, /openapi, /healthz and discovery (/api, /apis, /apis/G, /apis/G/V). */
  resourceRequest: boolean;
}

const VERBS: Record<string, string> = {
  POST: "create",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
  GET: "get",
  HEAD: "get",
  OPTIONS: "options",
};

/**
 * Derives request attributes from an upstream API path (`/api/v1/…`) and query (the query as
 * parseQuery read it, or a query string it reads here).
 */
export function requestInfo(method: string, path: string, search: string | URLSearchParams): RequestInfo {
  const parts = path.split("/").filter(Boolean).map(safeDecode);
  let verb = VERBS[method.toUpperCase()] ?? method.toLowerCase();
  let rest: string[];
  let apiGroup = "";
  let groupVersion: string;
  if (parts[0] === "api" && parts.length >= 3) {
    groupVersion = `core/${parts[1]}`;
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 4) {
    apiGroup = parts[1]!;
    groupVersion = `${apiGroup}/${parts[2]}`;
    rest = parts.slice(3);
  } else return { verb, apiGroup, resource: "", resourceRequest: false };

  // The legacy /watch/ prefix (`/api/v1/watch/namespaces/x/pods`): a watch, whatever the query says.
  let watchPath = false;
  if (rest[0] === "watch") {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // `namespaces/X/<resource>…`; `namespaces/X` alone is the namespace object, `namespaces/X/status` its subresource.
  if (rest[0] === "namespaces" && rest.length >= 3 && !isNamespaceSub(rest[2]!)) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  // Only the segment after the name is the subresource (`pods/P/proxy/a/b` is pods/proxy).
  const [resource = "", segment, subresource] = rest;
  const name = subresource === "proxy" && segment ? proxiedName(apiGroup, resource, segment) : segment;
  if (resource === "namespaces" && name) namespace = name;
  if (verb === "get" && (watchPath || (!name && isWatch(search)))) verb = "watch";
  else if (verb === "get" && !name) verb = "list";
  if (verb === "delete" && !name) verb = "deletecollection";
  const info: RequestInfo = { verb, apiGroup, groupVersion, resource, resourceRequest: true };
  if (subresource !== undefined) info.subresource = subresource;
  if (namespace !== undefined) info.namespace = namespace;
  if (name !== undefined) info.name = name;
  return info;
}

/** Core kinds whose proxy subresource takes `[scheme:]name[:port]` as its name. */
const PROXY_KINDS = new Set(["pods", "services", "nodes"]);

/**
 * The object a `…/NAME/proxy` request reaches. The API server's pods, services and nodes proxies
 * read the segment as `[scheme:]name[:port]` (utilnet.SplitSchemeNamePort: one, two or three
 * ":"-separated parts, scheme http, https or empty, name not empty) and proxy to the object `name`;
 * kubernetes_resources must check that name, not `http:secret-pod:80`. A segment that does not split
 * is kept whole (the API server answers it with a 400 and proxies nothing).
 */
function proxiedName(apiGroup: string, resource: string, segment: string): string {
  if (apiGroup !== "" || !PROXY_KINDS.has(resource) || !segment.includes(":")) return segment;
  const parts = segment.split(":");
  const [scheme, name] = parts.length === 3 ? [parts[0]!, parts[1]!] : ["", parts[0]!];
  const valid =
    parts.length <= 3 && name !== "" && (scheme === "" || scheme === "http" || scheme === "https");
  return valid ? name : segment;
}

// `namespaces/X/status` and `namespaces/X/finalize` are subresources of the namespace X.
const isNamespaceSub = (s: string) => s === "status" || s === "finalize";

function isWatch(search: string | URLSearchParams): boolean {
  const q = typeof search === "string" ? parseQuery(search).params : search;
  // As the API server reads it (apimachinery's Convert_Slice_string_To_bool, not strconv.ParseBool):
  // `yes`, an empty value … are true; only 0/false are false.
  return kubeBool(q.get("watch"));
}

const SESSION_SUBRESOURCES = new Set(["exec", "attach", "portforward"]);

/** True for pods/exec, pods/attach, pods/portforward — the streaming subresources. */
export const isSessionRequest = (info: RequestInfo) =>
  info.resource === "pods" && info.subresource !== undefined && SESSION_SUBRESOURCES.has(info.subresource);

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
