// REST routes of the simulated API server: version, discovery, OpenAPI, namespaces, pods, logs, access reviews.
import { canonicalArn, isClusterAdmin, type RequestIdentity } from "./auth.ts";
import {
  AGGREGATED_TYPE,
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiVersions,
  coreResourceList,
  groupResourceList,
  openApiV2,
  openApiV3,
  openApiV3Index,
  wantsAggregated,
} from "./discovery.ts";
import { apiVersionOf, simKindAt } from "./kinds.ts";
import type { LiveStreams } from "./live-streams.ts";
import { logResponse } from "./logs.ts";
import { selfSubjectAccessReviewSpec, unwrap } from "./proto.ts";
import { PROTOBUF, protobufList, wantsProtobuf } from "./protobuf.ts";
import { RBAC_PREFIX, type Rbac } from "./rbac.ts";
import { compileFilter } from "./selectors.ts";
import { badRequest, json, notFoundStatus, statusResponse } from "./status.ts";
import type { KubeObject, ObjectStore } from "./store.ts";
import { emptyTable, toTable, wantsTable } from "./table.ts";
import { watchResponse } from "./watch.ts";

export interface RouteContext {
  store: ObjectStore;
  rbac: Rbac;
  identity: RequestIdentity;
  gitVersion: string;
  /** Delay before a created pod turns Running (MODIFIED event). */
  podStartMs: number;
  /** Counts open watches and log follows. */
  live?: LiveStreams;
}

const notFoundPath = () =>
  statusResponse(404, "NotFound", "the server could not find the requested resource");
const methodNotAllowed = (method: string) =>
  statusResponse(
    405,
    "MethodNotAllowed",
    `the server does not allow this method on the requested resource (${method})`,
  );

/** Paths that answer anonymous requests, as the system:public-info-viewer role allows. */
export const PUBLIC_PATHS = new Set(["/version", "/healthz", "/readyz", "/livez"]);

/** Answers one non-upgrade request. */
export async function route(req: Request, url: URL, ctx: RouteContext): Promise<Response> {
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const accept = req.headers.get("accept");
  const get = req.method === "GET" || req.method === "HEAD";
  switch (path) {
    case "/version":
      return json(versionInfo(ctx.gitVersion));
    case "/healthz":
    case "/readyz":
    case "/livez":
      return new Response("ok", { headers: { "Content-Type": "text/plain" } });
    case "/api":
      return wantsAggregated(accept)
        ? json(aggregatedDiscovery("api"), 200, AGGREGATED_TYPE)
        : json(apiVersions());
    case "/apis":
      return wantsAggregated(accept)
        ? json(aggregatedDiscovery("apis"), 200, AGGREGATED_TYPE)
        : json(apiGroupList());
    case "/api/v1":
      return json(coreResourceList());
    case "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
      return req.method === "POST"
        ? selfSubjectAccessReview(req, ctx.identity, ctx.rbac)
        : methodNotAllowed(req.method);
    case "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews":
      return req.method === "POST"
        ? selfSubjectRulesReview(req, ctx.identity, ctx.rbac)
        : methodNotAllowed(req.method);
    case "/apis/authentication.k8s.io/v1/selfsubjectreviews":
      return req.method === "POST" ? selfSubjectReview(ctx.identity) : methodNotAllowed(req.method);
    case "/openapi/v2":
      return accept && !/application\/json|\*\/\*/.test(accept)
        ? statusResponse(406, "NotAcceptable", "only application/json is served for /openapi/v2")
        : json(openApiV2());
    case "/openapi/v3":
      return json(openApiV3Index());
    case "/api/v1/namespaces":
      return get ? list(req, url, ctx, "Namespace") : methodNotAllowed(req.method);
    case "/api/v1/pods":
      return get ? list(req, url, ctx, "Pod") : methodNotAllowed(req.method);
  }
  if (path.startsWith(RBAC_PREFIX)) return ctx.rbac.handle(req, path);
  const group = /^\/apis\/([^/]+)(\/v1)?$/.exec(path);
  if (group?.[1]) {
    const doc = group[2] ? groupResourceList(group[1]) : apiGroup(group[1]);
    return doc ? json(doc) : notFoundPath();
  }
  if (path.startsWith("/openapi/v3/")) {
    const doc = openApiV3(path.slice("/openapi/v3/".length));
    return doc ? json(doc) : notFoundPath();
  }
  const other = simKindAt(path);
  if (other) return otherKind(req, url, ctx, other);
  const m = /^\/api\/v1\/namespaces\/([^/]+)(?:\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?)?$/.exec(path);
  if (!m) return notFoundPath();
  const [, ns = "", resource, name, sub] = m;
  if (!resource) {
    if (!get) return methodNotAllowed(req.method);
    const obj = ctx.store.namespace(ns);
    if (!obj) return notFoundStatus("namespaces", ns);
    return wantsTable(accept)
      ? json(toTable([obj], { resourceVersion: obj.metadata.resourceVersion }))
      : json(obj);
  }
  if (resource === "events") return emptyCollection(req, resource, name, ctx);
  if (resource !== "pods") return notFoundPath();
  if (!name) {
    if (get) return list(req, url, ctx, "Pod", ns);
    if (req.method === "POST") return createPod(req, url, ns, ctx);
    return methodNotAllowed(req.method);
  }
  const pod = ctx.store.pod(ns, name);
  if (!sub) {
    if (get) {
      if (!pod) return notFoundStatus("pods", name);
      return wantsTable(accept)
        ? json(toTable([pod], { resourceVersion: pod.metadata.resourceVersion }))
        : json(pod);
    }
    if (req.method === "DELETE") {
      if (!pod) return notFoundStatus("pods", name);
      if (url.searchParams.getAll("dryRun").includes("All")) return json(pod);
      return json(ctx.store.deletePod(ns, name));
    }
    return methodNotAllowed(req.method);
  }
  if (sub === "log") {
    if (!get) return methodNotAllowed(req.method);
    return pod ? logResponse(pod, url.searchParams, req.signal, ctx.live) : notFoundStatus("pods", name);
  }
  if (sub === "exec" || sub === "attach" || sub === "portforward") {
    if (!pod) return notFoundStatus("pods", name);
    if (sub === "portforward") {
      return badRequest(
        "port-forward is supported by the simulator only over WebSocket (subprotocol SPDY/3.1+portforward.k8s.io, kubectl >= 1.31)",
      );
    }
    const upgrade = req.headers.get("upgrade") ?? "";
    if (/spdy/i.test(upgrade)) {
      return badRequest(
        `the simulated API server does not speak SPDY (${upgrade}); ${sub} needs kubectl >= 1.30 over WebSocket (v5.channel.k8s.io) — unset KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`,
      );
    }
    return badRequest(`${sub} requires a WebSocket upgrade offering v5.channel.k8s.io or v4.channel.k8s.io`);
  }
  return notFoundPath();
}

function versionInfo(gitVersion: string) {
  const [major = "1", minor = "32"] = gitVersion.replace(/^v/, "").split(".");
  return {
    major,
    minor,
    gitVersion,
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2025-04-15T00:00:00Z",
    goVersion: "go1.23.8",
    compiler: "gc",
    platform: "linux/amd64",
  };
}

interface Continue {
  rv: number;
  after: string;
}

/** list or watch of any kind, with limit/continue paging and Table or protobuf output. */
function list(
  req: Request,
  url: URL,
  ctx: RouteContext,
  kind: string,
  ns?: string,
  apiVersion = "v1",
): Response {
  const q = url.searchParams;
  let filter: ReturnType<typeof compileFilter>;
  try {
    filter = compileFilter(q.get("labelSelector"), q.get("fieldSelector"));
  } catch (err) {
    return badRequest((err as Error).message);
  }
  const table = wantsTable(req.headers.get("accept"));
  const protobuf = !table && wantsProtobuf(req.headers.get("accept"));
  if (q.get("watch") === "true" || q.get("watch") === "1") {
    const timeout = q.get("timeoutSeconds");
    return watchResponse(ctx.store, {
      kind,
      namespace: ns,
      resourceVersion: q.get("resourceVersion"),
      filter,
      table,
      bookmarks: q.get("allowWatchBookmarks") === "true",
      ...(timeout ? { timeoutSeconds: Number(timeout) } : {}),
      signal: req.signal,
      ...(ctx.live ? { live: ctx.live } : {}),
      protobuf,
    });
  }
  let items = ctx.store.listObjects(kind, ns).filter(filter);
  let rv = ctx.store.resourceVersion;
  const cont = q.get("continue");
  if (cont) {
    let token: Continue;
    try {
      token = JSON.parse(Buffer.from(cont, "base64").toString("utf8")) as Continue;
    } catch {
      return badRequest("continue key is not valid: illegal base64 data");
    }
    items = items.filter((o) => keyOf(o) > token.after);
    rv = token.rv;
  }
  const limit = Number(q.get("limit") ?? 0);
  const listMeta: Record<string, string> = { resourceVersion: String(rv) };
  if (limit > 0 && items.length > limit) {
    items = items.slice(0, limit);
    const last = items[items.length - 1];
    if (last)
      listMeta.continue = Buffer.from(JSON.stringify({ rv, after: keyOf(last) } satisfies Continue)).toString(
        "base64",
      );
  }
  if (table) return json(items.length ? toTable(items, listMeta) : emptyTable(kind, listMeta));
  if (protobuf)
    return new Response(protobufList(apiVersion, kind, listMeta, items) as Uint8Array<ArrayBuffer>, {
      headers: { "Content-Type": PROTOBUF },
    });
  return json({ kind: `${kind}List`, apiVersion, metadata: listMeta, items });
}

/** get, list, watch, create and delete of the kinds in kinds.ts. */
async function otherKind(
  req: Request,
  url: URL,
  ctx: RouteContext,
  at: NonNullable<ReturnType<typeof simKindAt>>,
): Promise<Response> {
  const { kind, namespace, name, sub } = at;
  const get = req.method === "GET" || req.method === "HEAD";
  if (sub) return notFoundPath();
  if (!name) {
    if (get) return list(req, url, ctx, kind.kind, namespace, apiVersionOf(kind));
    if (req.method !== "POST") return methodNotAllowed(req.method);
    const unsupported = unsupportedBody(req);
    if (unsupported) return unsupported;
    let body: KubeObject;
    try {
      body = (await req.json()) as KubeObject;
    } catch (err) {
      return badRequest(`error decoding request body: ${(err as Error).message}`);
    }
    const objName = body?.metadata?.name as string | undefined;
    if (!objName)
      return statusResponse(422, "Invalid", `${kind.kind} "" is invalid: metadata.name: Required value`);
    if (ctx.store.object(kind.kind, namespace ?? "", objName))
      return statusResponse(409, "AlreadyExists", `${kind.resource} "${objName}" already exists`);
    body.apiVersion = apiVersionOf(kind);
    body.kind = kind.kind;
    if (namespace) body.metadata.namespace = namespace;
    return json(ctx.store.addObject(body), 201);
  }
  const obj = ctx.store.object(kind.kind, namespace ?? "", name);
  if (get) {
    if (!obj) return notFoundStatus(kind.resource, name);
    return wantsTable(req.headers.get("accept"))
      ? json(toTable([obj], { resourceVersion: obj.metadata.resourceVersion }))
      : json(obj);
  }
  if (req.method === "DELETE") {
    if (!obj) return notFoundStatus(kind.resource, name);
    return json(ctx.store.deleteObject(kind.kind, namespace ?? "", name));
  }
  return methodNotAllowed(req.method);
}

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/** 415 for bodies the simulator cannot decode (protobuf); undefined for JSON. */
function unsupportedBody(req: Request): Response | undefined {
  const type = req.headers.get("content-type") ?? "";
  if (type === "" || /json/.test(type)) return undefined;
  return statusResponse(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json, application/merge-patch+json (got ${type})`,
  );
}

async function createPod(req: Request, url: URL, ns: string, ctx: RouteContext): Promise<Response> {
  const unsupported = unsupportedBody(req);
  if (unsupported) return unsupported;
  let body: KubeObject;
  try {
    body = (await req.json()) as KubeObject;
  } catch (err) {
    return badRequest(`error decoding request body: ${(err as Error).message}`);
  }
  if (body?.kind !== "Pod" || typeof body.metadata !== "object" || body.metadata === null) {
    return badRequest(
      `the API version in the data (${body?.apiVersion}) or kind (${body?.kind}) does not match a Pod`,
    );
  }
  if (body.metadata.namespace && body.metadata.namespace !== ns) {
    return badRequest(
      "the namespace of the provided object does not match the namespace sent on the request",
    );
  }
  if (!body.metadata.name && body.metadata.generateName) {
    body.metadata.name = `${body.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`;
  }
  const name = body.metadata.name as string | undefined;
  if (!name)
    return statusResponse(
      422,
      "Invalid",
      'Pod "" is invalid: metadata.name: Required value: name or generateName is required',
    );
  if (!ctx.store.namespace(ns)) return notFoundStatus("namespaces", ns);
  if (ctx.store.pod(ns, name))
    return statusResponse(409, "AlreadyExists", `pods "${name}" already exists`, { name, kind: "pods" });
  body.metadata.namespace = ns;
  if (url.searchParams.getAll("dryRun").includes("All")) return json(body, 201);
  const created = ctx.store.createPod(body, "Pending");
  setTimeout(() => ctx.store.setPhase(ns, name, "Running"), ctx.podStartMs);
  return json(created, 201);
}

function emptyCollection(
  req: Request,
  resource: string,
  name: string | undefined,
  ctx: RouteContext,
): Response {
  if (req.method !== "GET") return methodNotAllowed(req.method);
  if (name) return notFoundStatus(resource, name);
  const meta = { resourceVersion: String(ctx.store.resourceVersion) };
  if (wantsTable(req.headers.get("accept"))) {
    return json({
      kind: "Table",
      apiVersion: "meta.k8s.io/v1",
      metadata: meta,
      columnDefinitions: [{ name: "Name", type: "string", format: "name", description: "", priority: 0 }],
      rows: [],
    });
  }
  return json({
    kind: resource === "events" ? "EventList" : "ConfigMapList",
    apiVersion: "v1",
    metadata: meta,
    items: [],
  });
}

/**
 * `kubectl auth can-i --list`: the caller's rules as the API server lists them — everything for a
 * cluster admin, else its ClusterRoleBindings' rules plus what every authenticated user may do.
 */
async function selfSubjectRulesReview(req: Request, id: RequestIdentity, rbac: Rbac): Promise<Response> {
  let namespace = "";
  if (!(req.headers.get("content-type") ?? "").includes("protobuf")) {
    const unsupported = unsupportedBody(req);
    if (unsupported) return unsupported;
    try {
      namespace = String(((await req.json()) as KubeObject).spec?.namespace ?? "");
    } catch (err) {
      return badRequest(`error decoding request body: ${(err as Error).message}`);
    }
  } else await req.arrayBuffer();
  const policies = id.impersonatedBy ? [] : id.caller.policies;
  const everything = { verbs: ["*"], apiGroups: ["*"], resources: ["*"] };
  const resourceRules = isClusterAdmin(policies, id.groups)
    ? [everything]
    : [
        {
          verbs: ["create"],
          apiGroups: ["authorization.k8s.io"],
          resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        },
        ...rbac.rulesOf(id).filter((r) => !r.nonResourceURLs?.length),
      ];
  return json(
    {
      kind: "SelfSubjectRulesReview",
      apiVersion: "authorization.k8s.io/v1",
      metadata: { creationTimestamp: null },
      spec: { namespace },
      status: {
        resourceRules,
        nonResourceRules: [
          { verbs: ["get"], nonResourceURLs: ["/api", "/api/*", "/apis", "/apis/*", "/version"] },
        ],
        incomplete: false,
      },
    },
    201,
  );
}

/**
 * SelfSubjectAccessReview: the caller's own answer comes from RBAC (cluster admins may do anything);
 * an impersonated identity may do anything but impersonate, unless it is in system:masters.
 */
async function selfSubjectAccessReview(req: Request, id: RequestIdentity, rbac: Rbac): Promise<Response> {
  let body: KubeObject;
  try {
    if ((req.headers.get("content-type") ?? "").includes("protobuf")) {
      // kubectl auth can-i sends protobuf; decode the few fields a review has.
      body = {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        metadata: {},
        spec: selfSubjectAccessReviewSpec(unwrap(new Uint8Array(await req.arrayBuffer())).raw),
      };
    } else {
      const unsupported = unsupportedBody(req);
      if (unsupported) return unsupported;
      body = (await req.json()) as KubeObject;
    }
  } catch (err) {
    return badRequest(`error decoding request body: ${(err as Error).message}`);
  }
  const attrs = body.spec?.resourceAttributes as
    | { verb?: string; resource?: string; group?: string; subresource?: string; name?: string }
    | undefined;
  // Access-policy associations belong to the IAM principal, so they count only when not impersonating.
  const policies = id.impersonatedBy ? [] : id.caller.policies;
  const admin = isClusterAdmin(policies, id.groups);
  const allowed = id.impersonatedBy
    ? attrs?.verb === "impersonate"
      ? admin
      : true
    : rbac.allows(id, {
        verb: attrs?.verb ?? "",
        apiGroup: attrs?.group ?? "",
        resource: `${attrs?.resource ?? ""}${attrs?.subresource ? `/${attrs.subresource}` : ""}`,
        ...(attrs?.name ? { name: attrs.name } : {}),
      });
  return json(
    {
      kind: "SelfSubjectAccessReview",
      apiVersion: "authorization.k8s.io/v1",
      metadata: { creationTimestamp: null },
      spec: body.spec ?? {},
      status: allowed
        ? {
            allowed: true,
            reason: admin ? "allowed as cluster admin" : "allowed by RBAC",
          }
        : {
            allowed: false,
            reason: `User "${id.user}" cannot ${attrs?.verb ?? "do"} ${attrs?.resource ?? "that"}`,
          },
    },
    201,
  );
}

/** SelfSubjectReview (`kubectl auth whoami`): the effective user; the request body (often protobuf) carries nothing else. */
function selfSubjectReview(id: RequestIdentity): Response {
  // EKS adds the IAM identity as extra fields; an impersonated user has only the extra it was given.
  const session = /:assumed-role\/[^/]+\/(.+)$/.exec(id.caller.arn)?.[1];
  const extra = id.impersonatedBy
    ? (id.extra ?? {})
    : {
        arn: [id.caller.arn],
        canonicalArn: [canonicalArn(id.caller.arn)],
        ...(id.caller.userId ? { principalId: [id.caller.userId] } : {}),
        ...(session ? { sessionName: [session] } : {}),
      };
  return json(
    {
      kind: "SelfSubjectReview",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { creationTimestamp: null },
      status: {
        userInfo: {
          username: id.user,
          ...(id.uid ? { uid: id.uid } : {}),
          groups: id.groups,
          ...(Object.keys(extra).length ? { extra } : {}),
        },
      },
    },
    201,
  );
}
