// Discovery documents (legacy and aggregated v2) and the small OpenAPI documents kubectl reads.
import { SIM_KINDS } from "./kinds.ts";

interface ResourceDef {
  name: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
}

const CORE: ResourceDef[] = [
  {
    name: "namespaces",
    singular: "namespace",
    kind: "Namespace",
    namespaced: false,
    verbs: ["get", "list", "watch"],
    shortNames: ["ns"],
  },
  {
    name: "pods",
    singular: "pod",
    kind: "Pod",
    namespaced: true,
    verbs: ["create", "delete", "get", "list", "watch"],
    shortNames: ["po"],
    categories: ["all"],
  },
  {
    name: "events",
    singular: "event",
    kind: "Event",
    namespaced: true,
    verbs: ["get", "list"],
    shortNames: ["ev"],
  },
];

const POD_SUBRESOURCES = [
  { name: "log", kind: "Pod", verbs: ["get"] },
  { name: "exec", kind: "PodExecOptions", verbs: ["create", "get"] },
  { name: "attach", kind: "PodAttachOptions", verbs: ["create", "get"] },
  { name: "portforward", kind: "PodPortForwardOptions", verbs: ["create", "get"] },
];

const AUTHZ: ResourceDef[] = [
  {
    name: "selfsubjectaccessreviews",
    singular: "selfsubjectaccessreview",
    kind: "SelfSubjectAccessReview",
    namespaced: false,
    verbs: ["create"],
  },
  {
    name: "selfsubjectrulesreviews",
    singular: "selfsubjectrulesreview",
    kind: "SelfSubjectRulesReview",
    namespaced: false,
    verbs: ["create"],
  },
];

const AUTHN: ResourceDef[] = [
  {
    name: "selfsubjectreviews",
    singular: "selfsubjectreview",
    kind: "SelfSubjectReview",
    namespaced: false,
    verbs: ["create"],
  },
];

const simDefs = (group: string): ResourceDef[] =>
  SIM_KINDS.filter((k) => k.group === group).map((k) => ({
    name: k.resource,
    singular: k.singular,
    kind: k.kind,
    namespaced: k.namespaced,
    verbs: ["create", "delete", "get", "list", "watch"],
    ...(k.shortNames ? { shortNames: k.shortNames } : {}),
  }));
CORE.push(...simDefs(""));

/** The API groups served besides the core group. */
const GROUPS: { name: string; defs: ResourceDef[] }[] = [
  { name: "authorization.k8s.io", defs: AUTHZ },
  { name: "authentication.k8s.io", defs: AUTHN },
  ...[...new Set(SIM_KINDS.map((k) => k.group).filter((g) => g !== ""))].map((name) => ({
    name,
    defs: simDefs(name),
  })),
];

export const AGGREGATED_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/** True when the Accept header lists the aggregated discovery v2 form. */
export function wantsAggregated(accept: string | null): boolean {
  return (
    !!accept &&
    accept
      .split(",")
      .some(
        (p) =>
          p.includes("g=apidiscovery.k8s.io") && p.includes("v=v2") && p.includes("as=APIGroupDiscoveryList"),
      )
  );
}

export const apiVersions = () => ({
  kind: "APIVersions",
  versions: ["v1"],
  serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1:443" }],
});

export const apiGroupList = () => ({
  kind: "APIGroupList",
  apiVersion: "v1",
  groups: GROUPS.map(({ name }) => apiGroup(name)),
});

/** `/apis/<group>` of a served group, else undefined. */
export function apiGroup(name: string) {
  if (!GROUPS.some((g) => g.name === name)) return undefined;
  return {
    kind: "APIGroup",
    apiVersion: "v1",
    name,
    versions: [{ groupVersion: `${name}/v1`, version: "v1" }],
    preferredVersion: { groupVersion: `${name}/v1`, version: "v1" },
  };
}

function legacyResources(defs: ResourceDef[], withPodSubresources: boolean) {
  const out: Record<string, unknown>[] = [];
  for (const d of defs) {
    out.push({
      name: d.name,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: d.verbs,
      ...(d.shortNames ? { shortNames: d.shortNames } : {}),
      ...(d.categories ? { categories: d.categories } : {}),
    });
    if (withPodSubresources && d.name === "pods") {
      for (const s of POD_SUBRESOURCES) {
        out.push({
          name: `pods/${s.name}`,
          singularName: "",
          namespaced: true,
          kind: s.kind,
          verbs: s.verbs,
        });
      }
    }
  }
  return out;
}

export const coreResourceList = () => ({
  kind: "APIResourceList",
  groupVersion: "v1",
  resources: legacyResources(CORE, true),
});
/** `/apis/<group>/v1` of a served group, else undefined. */
export function groupResourceList(name: string) {
  const g = GROUPS.find((x) => x.name === name);
  return g
    ? {
        kind: "APIResourceList",
        apiVersion: "v1",
        groupVersion: `${name}/v1`,
        resources: legacyResources(g.defs, false),
      }
    : undefined;
}

function aggregatedResources(group: string, defs: ResourceDef[]) {
  return defs.map((d) => ({
    resource: d.name,
    responseKind: { group, version: "v1", kind: d.kind },
    scope: d.namespaced ? "Namespaced" : "Cluster",
    singularResource: d.singular,
    verbs: d.verbs,
    ...(d.shortNames ? { shortNames: d.shortNames } : {}),
    ...(d.categories ? { categories: d.categories } : {}),
    ...(d.name === "pods"
      ? {
          subresources: POD_SUBRESOURCES.map((s) => ({
            subresource: s.name,
            responseKind: { group, version: "v1", kind: s.kind },
            verbs: s.verbs,
          })),
        }
      : {}),
  }));
}

/** The aggregated discovery list for `/api` (core) or `/apis` (groups). */
export function aggregatedDiscovery(which: "api" | "apis") {
  const items =
    which === "api"
      ? [
          {
            metadata: { creationTimestamp: null },
            versions: [{ version: "v1", resources: aggregatedResources("", CORE), freshness: "Current" }],
          },
        ]
      : GROUPS.map((g) => ({
          metadata: { name: g.name, creationTimestamp: null },
          versions: [{ version: "v1", resources: aggregatedResources(g.name, g.defs), freshness: "Current" }],
        }));
  return { kind: "APIGroupDiscoveryList", apiVersion: "apidiscovery.k8s.io/v2", metadata: {}, items };
}

const HASH = "5IMULAT0R0000000000000000000000000000000000000000000000000000000";

/** `/openapi/v3`: the index of group-version documents. */
export const openApiV3Index = () => ({
  paths: {
    "api/v1": { serverRelativeURL: `/openapi/v3/api/v1?hash=${HASH}` },
    "apis/authorization.k8s.io/v1": {
      serverRelativeURL: `/openapi/v3/apis/authorization.k8s.io/v1?hash=${HASH}`,
    },
  },
});

const queryParam = (name: string) => ({ name, in: "query", schema: { type: "string", uniqueItems: true } });
const WRITE_PARAMS = ["dryRun", "fieldManager", "fieldValidation"].map(queryParam);

function gvk(group: string, kind: string) {
  return { "x-kubernetes-group-version-kind": { group, version: "v1", kind } };
}

function kindPaths(group: string, base: string, d: ResourceDef) {
  const g = gvk(group, d.kind);
  const ref = { $ref: `#/components/schemas/${schemaName(group, d.kind)}` };
  const body = { content: { "application/json": { schema: ref } }, required: true };
  const ok = { "200": { description: "OK", content: { "application/json": { schema: ref } } } };
  const coll = d.namespaced ? `${base}/namespaces/{namespace}/${d.name}` : `${base}/${d.name}`;
  const params = d.namespaced
    ? [{ name: "namespace", in: "path", required: true, schema: { type: "string" } }]
    : [];
  const nameParam = { name: "name", in: "path", required: true, schema: { type: "string" } };
  return {
    [coll]: {
      get: { operationId: `list${d.kind}`, responses: ok, ...g, "x-kubernetes-action": "list" },
      post: {
        operationId: `create${d.kind}`,
        requestBody: body,
        parameters: WRITE_PARAMS,
        responses: ok,
        ...g,
        "x-kubernetes-action": "post",
      },
      parameters: params,
    },
    [`${coll}/{name}`]: {
      get: { operationId: `read${d.kind}`, responses: ok, ...g, "x-kubernetes-action": "get" },
      put: {
        operationId: `replace${d.kind}`,
        requestBody: body,
        parameters: WRITE_PARAMS,
        responses: ok,
        ...g,
        "x-kubernetes-action": "put",
      },
      patch: {
        operationId: `patch${d.kind}`,
        requestBody: {
          content: { "application/merge-patch+json": { schema: { type: "object" } } },
          required: true,
        },
        parameters: [...WRITE_PARAMS, queryParam("force")],
        responses: ok,
        ...g,
        "x-kubernetes-action": "patch",
      },
      delete: {
        operationId: `delete${d.kind}`,
        parameters: [queryParam("dryRun")],
        responses: ok,
        ...g,
        "x-kubernetes-action": "delete",
      },
      parameters: [nameParam, ...params],
    },
  };
}

const schemaName = (group: string, kind: string) =>
  group ? `io.k8s.api.${group.split(".")[0]}.v1.${kind}` : `io.k8s.api.core.v1.${kind}`;

function schemas(group: string, defs: ResourceDef[]) {
  const out: Record<string, unknown> = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
      type: "object",
      "x-kubernetes-preserve-unknown-fields": true,
    },
  };
  for (const d of defs) {
    out[schemaName(group, d.kind)] = {
      type: "object",
      description: `${d.kind} (simulated schema; fields are not validated client-side).`,
      properties: {
        apiVersion: { type: "string" },
        kind: { type: "string" },
        metadata: {
          allOf: [{ $ref: "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" }],
          default: {},
        },
        spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
      },
      ...gvk(group, d.kind),
    };
  }
  return out;
}

/** `/openapi/v3/api/v1` or `/openapi/v3/apis/authorization.k8s.io/v1`; undefined for others. */
export function openApiV3(path: string): unknown {
  const [group, defs, base] =
    path === "api/v1"
      ? ["", CORE, "/api/v1"]
      : path === "apis/authorization.k8s.io/v1"
        ? ["authorization.k8s.io", AUTHZ, "/apis/authorization.k8s.io/v1"]
        : [];
  if (group === undefined || !defs || !base) return undefined;
  const paths = Object.assign({}, ...defs.map((d) => kindPaths(group, base, d)));
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.4" },
    paths,
    components: { schemas: schemas(group, defs) },
  };
}

/** `/openapi/v2` as JSON (Swagger 2.0); only the definitions kubectl looks up by kind. */
export function openApiV2() {
  const definitions: Record<string, unknown> = {};
  for (const [group, defs] of [["", CORE] as const, ...GROUPS.map((g) => [g.name, g.defs] as const)]) {
    for (const d of defs) {
      definitions[schemaName(group, d.kind)] = {
        type: "object",
        "x-kubernetes-group-version-kind": [{ group, version: "v1", kind: d.kind }],
      };
    }
  }
  return { swagger: "2.0", info: { title: "Kubernetes", version: "v1.32.4" }, paths: {}, definitions };
}
