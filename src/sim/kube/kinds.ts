// The kinds the simulated API server stores besides pods and namespaces: built-in ones in the core,
// apps and a cluster-scoped kind, and one custom resource (crontabs.stable.example.com), served over
// the same list / get / create / delete / watch routes, in JSON, Table or protobuf.

export interface SimKind {
  group: string;
  version: string;
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
}

export const SIM_KINDS: SimKind[] = [
  {
    group: "",
    version: "v1",
    resource: "configmaps",
    singular: "configmap",
    kind: "ConfigMap",
    namespaced: true,
    shortNames: ["cm"],
  },
  { group: "", version: "v1", resource: "secrets", singular: "secret", kind: "Secret", namespaced: true },
  {
    group: "",
    version: "v1",
    resource: "services",
    singular: "service",
    kind: "Service",
    namespaced: true,
    shortNames: ["svc"],
  },
  {
    group: "",
    version: "v1",
    resource: "nodes",
    singular: "node",
    kind: "Node",
    namespaced: false,
    shortNames: ["no"],
  },
  {
    group: "apps",
    version: "v1",
    resource: "deployments",
    singular: "deployment",
    kind: "Deployment",
    namespaced: true,
    shortNames: ["deploy"],
  },
  {
    group: "stable.example.com",
    version: "v1",
    resource: "crontabs",
    singular: "crontab",
    kind: "CronTab",
    namespaced: true,
    shortNames: ["ct"],
  },
];

/** The kind a path names: `/api/v1/[namespaces/NS/]RES[/NAME]` or `/apis/G/V/[namespaces/NS/]RES[/NAME]`. */
export function simKindAt(
  path: string,
): { kind: SimKind; namespace?: string; name?: string; sub?: string } | undefined {
  const m =
    /^\/(?:api\/v1|apis\/([^/]+)\/([^/]+))\/(?:namespaces\/([^/]+)\/)?([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(
      path,
    );
  if (!m) return undefined;
  const [, group = "", version = "v1", namespace, resource, name, sub] = m;
  const kind = SIM_KINDS.find((k) => k.group === group && k.version === version && k.resource === resource);
  if (!kind || (namespace !== undefined && !kind.namespaced)) return undefined;
  return {
    kind,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name ? { name } : {}),
    ...(sub ? { sub } : {}),
  };
}

export const apiVersionOf = (k: SimKind) => (k.group ? `${k.group}/${k.version}` : k.version);
