// RBAC of the simulated API server: ClusterRoles and ClusterRoleBindings over REST
// (rbac.authorization.k8s.io/v1), and the authorizer that holds callers who are not cluster admins to them.
import { isClusterAdmin, type RequestIdentity } from "./auth.ts";
import { json, notFoundStatus, statusResponse } from "./status.ts";

export const RBAC_PREFIX = "/apis/rbac.authorization.k8s.io/v1/";

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface RbacObject {
  apiVersion: "rbac.authorization.k8s.io/v1";
  kind: "ClusterRole" | "ClusterRoleBinding";
  metadata: { name: string; resourceVersion?: string; uid?: string; [k: string]: unknown };
  rules?: PolicyRule[];
  roleRef?: { apiGroup: string; kind: string; name: string };
  subjects?: { kind: string; name: string; apiGroup?: string; namespace?: string }[];
}

/** What a request asks to do, as Kubernetes' authorizer sees it. */
export interface RequestAttributes {
  verb: string;
  apiGroup: string;
  /** "pods", or "pods/exec" for a subresource. */
  resource: string;
  name?: string;
}

const KINDS = { clusterroles: "ClusterRole", clusterrolebindings: "ClusterRoleBinding" } as const;

const ruleAllows = (r: PolicyRule, a: RequestAttributes) =>
  (r.verbs.includes("*") || r.verbs.includes(a.verb)) &&
  (r.apiGroups ?? []).some((g) => g === "*" || g === a.apiGroup) &&
  (r.resources ?? []).some(
    (x) => x === "*" || x === a.resource || (x.endsWith("/*") && a.resource.startsWith(x.slice(0, -1))),
  ) &&
  (!r.resourceNames?.length || (a.name !== undefined && r.resourceNames.includes(a.name)));

/** ClusterRoles and ClusterRoleBindings, their REST endpoints, and the authorizer over them. */
export class Rbac {
  private readonly objects = new Map<string, RbacObject>();
  private rv = 0;

  /** All objects of a kind ("ClusterRole" | "ClusterRoleBinding"), by name. */
  list(kind: RbacObject["kind"]): RbacObject[] {
    return [...this.objects.values()]
      .filter((o) => o.kind === kind)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  get(kind: RbacObject["kind"], name: string): RbacObject | undefined {
    return this.objects.get(`${kind}/${name}`);
  }

  /** Creates or replaces (tests seed bindings with it). */
  put(o: Omit<RbacObject, "apiVersion"> & { apiVersion?: string }): RbacObject {
    const stored = {
      ...o,
      apiVersion: "rbac.authorization.k8s.io/v1",
      metadata: { ...o.metadata, resourceVersion: String(++this.rv), uid: crypto.randomUUID() },
    } as RbacObject;
    this.objects.set(`${o.kind}/${o.metadata.name}`, stored);
    return stored;
  }

  /**
   * True when `id` (not impersonated) may do `a`: cluster admins may do anything; anyone else only
   * what a ClusterRoleBinding naming its user or one of its groups grants.
   */
  allows(id: RequestIdentity, a: RequestAttributes): boolean {
    if (isClusterAdmin(id.impersonatedBy ? [] : id.caller.policies, id.groups)) return true;
    return this.rulesOf(id).some((r) => ruleAllows(r, a));
  }

  /** The rules of every ClusterRole bound to `id`'s user or groups (a SelfSubjectRulesReview lists them). */
  rulesOf(id: RequestIdentity): PolicyRule[] {
    const out: PolicyRule[] = [];
    for (const b of this.list("ClusterRoleBinding")) {
      const bound = (b.subjects ?? []).some(
        (s) =>
          (s.kind === "User" && s.name === id.user) || (s.kind === "Group" && id.groups.includes(s.name)),
      );
      if (bound && b.roleRef?.kind === "ClusterRole")
        out.push(...(this.get("ClusterRole", b.roleRef.name)?.rules ?? []));
    }
    return out;
  }

  /** Serves `/apis/rbac.authorization.k8s.io/v1/{clusterroles,clusterrolebindings}[/NAME]`. */
  async handle(req: Request, path: string): Promise<Response> {
    const [plural = "", name, ...extra] = path.slice(RBAC_PREFIX.length).split("/");
    const kind = KINDS[plural as keyof typeof KINDS];
    if (!kind || extra.length > 0)
      return statusResponse(404, "NotFound", "the server could not find the requested resource");
    if (req.method === "GET" && !name)
      return json({
        kind: `${kind}List`,
        apiVersion: "rbac.authorization.k8s.io/v1",
        metadata: {},
        items: this.list(kind),
      });
    if (req.method === "GET")
      return this.get(kind, name!) ? json(this.get(kind, name!)) : notFoundStatus(plural, name!);
    if (req.method === "DELETE" && name) {
      if (!this.objects.delete(`${kind}/${name}`)) return notFoundStatus(plural, name);
      return json({ kind: "Status", apiVersion: "v1", status: "Success" });
    }
    if (req.method !== "POST" && req.method !== "PUT")
      return statusResponse(405, "MethodNotAllowed", `the server does not allow this method (${req.method})`);
    let body: RbacObject;
    try {
      body = (await req.json()) as RbacObject;
    } catch (err) {
      return statusResponse(400, "BadRequest", `error decoding request body: ${(err as Error).message}`);
    }
    const objName = body?.metadata?.name;
    if (body?.kind !== kind || typeof objName !== "string" || objName === "")
      return statusResponse(400, "BadRequest", `the body must be a ${kind} with metadata.name`);
    if (req.method === "POST") {
      if (name) return statusResponse(405, "MethodNotAllowed", "POST to a named resource");
      if (this.get(kind, objName))
        return statusResponse(409, "AlreadyExists", `${plural} "${objName}" already exists`, {
          name: objName,
          kind: plural,
        });
      return json(this.put(body), 201);
    }
    if (name !== objName)
      return statusResponse(400, "BadRequest", "the name in the body does not match the URL");
    const have = this.get(kind, objName);
    if (!have) return notFoundStatus(plural, objName);
    if (body.metadata.resourceVersion && body.metadata.resourceVersion !== have.metadata.resourceVersion)
      return statusResponse(
        409,
        "Conflict",
        `the object has been modified; please apply your changes to the latest version`,
      );
    return json(this.put(body));
  }
}

const VERBS: Record<string, string> = { POST: "create", PUT: "update", PATCH: "patch" };

/**
 * The authorizer's view of a request, or undefined for what every authenticated user may do
 * (system:discovery, system:basic-user, system:public-info-viewer: discovery, version, health,
 * self reviews).
 */
export function requestAttributes(
  method: string,
  path: string,
  watch: boolean,
  upgrade: boolean,
): RequestAttributes | undefined {
  if (path.startsWith(RBAC_PREFIX)) {
    const [resource = "", name] = path.slice(RBAC_PREFIX.length).split("/");
    return {
      verb: verbOf(method, name, watch),
      apiGroup: "rbac.authorization.k8s.io",
      resource,
      ...(name ? { name } : {}),
    };
  }
  const m =
    /^\/api\/v1\/(?:namespaces(?:\/([^/]+)(?:\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?)?)?|(pods|namespaces))$/.exec(
      path,
    );
  if (!m) return undefined;
  const [, ns, resource, name, sub, top] = m;
  if (top) return { verb: verbOf(method, undefined, watch), apiGroup: "", resource: top };
  if (!resource)
    return {
      verb: verbOf(method, ns, watch),
      apiGroup: "",
      resource: "namespaces",
      ...(ns ? { name: ns } : {}),
    };
  if (sub) {
    // Exec, attach and port-forward are "create" on their subresource, over SPDY or WebSocket alike.
    const verb = sub === "log" ? "get" : upgrade || method === "POST" ? "create" : "get";
    return { verb, apiGroup: "", resource: `${resource}/${sub}`, ...(name ? { name } : {}) };
  }
  return { verb: verbOf(method, name, watch), apiGroup: "", resource, ...(name ? { name } : {}) };
}

function verbOf(method: string, name: string | undefined, watch: boolean): string {
  if (method === "GET" || method === "HEAD") return watch ? "watch" : name ? "get" : "list";
  if (method === "DELETE") return name ? "delete" : "deletecollection";
  return VERBS[method] ?? method.toLowerCase();
}
