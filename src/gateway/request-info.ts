// Kubernetes request attributes (verb, resource, namespace, name, subresource) from method + path,
// the way the API server's RequestInfoResolver derives them; used for audit and WS authorisation.

export interface RequestInfo {
  verb: string;
  apiGroup: string;
  /** "core/v1", "apps/v1" (Teleport's resource_api_group); absent for non-resource paths. */
  groupVersion?: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** False for /version, /openapi, /healthz … */
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

/** Derives request attributes from an upstream API path (`/api/v1/…`) and query. */
export function requestInfo(method: string, path: string, search: string | URLSearchParams): RequestInfo {
  const q = typeof search === "string" ? new URLSearchParams(search) : search;
  const parts = path.split("/").filter(Boolean).map(safeDecode);
  let verb = VERBS[method.toUpperCase()] ?? method.toLowerCase();
  let rest: string[];
  let apiGroup = "";
  let groupVersion: string;
  if (parts[0] === "api" && parts.length >= 2) {
    groupVersion = `core/${parts[1]}`;
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 3) {
    apiGroup = parts[1]!;
    groupVersion = `${apiGroup}/${parts[2]}`;
    rest = parts.slice(3);
  } else return { verb: verb === "get" ? "get" : verb, apiGroup, resource: "", resourceRequest: false };

  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource = "", name, subresource] = rest;
  if (resource === "namespaces" && name && !subresource) namespace = name;
  if (verb === "get" && !name) verb = q.get("watch") === "true" || q.get("watch") === "1" ? "watch" : "list";
  if (verb === "delete" && !name) verb = "deletecollection";
  return { verb, apiGroup, groupVersion, resource, subresource, namespace, name, resourceRequest: true };
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
