// `kubectl auth can-i --list` (a SelfSubjectRulesReview POST) answered from kubernetes_resources for a
// user whose roles restrict resources: the rules kubeport enforces on this cluster, written as RBAC
// rules, `incomplete: true`, and the cluster is not asked. Forwarded, the review showed the rules of
// the impersonated groups in the cluster's RBAC (often `*.*`), which is not what kubeport lets the
// user do. Teleport has no handler for this review (its router answers only
// SelfSubjectAccessReview); kubeport answers it rather than show rules it does not enforce.
import { knownKind } from "../../lib/kube-kinds.ts";
import type { ResourceAccess } from "./access.ts";
import { readBody } from "./request-check.ts";
import { isObject, onlyField, readReview } from "./review-body.ts";
import { type CompiledRule, describeRule } from "./rules.ts";

export const RULES_REVIEW = "authorization.k8s.io/selfsubjectrulesreviews";

/** One rule of SubjectRulesReviewStatus.resourceRules (authorization.k8s.io/v1). */
export interface ResourceRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
}

/**
 * Answers a SelfSubjectRulesReview from the rules (201, as the API server answers a create). Throws
 * bad_parameter for a body kubeport cannot read.
 */
export async function reviewRules(access: ResourceAccess, req: Request): Promise<Response> {
  const body = await readBody(req);
  const { apiVersion, namespace } = parseRulesReview(body, req.headers.get("content-type") ?? "");
  return Response.json(
    {
      kind: "SelfSubjectRulesReview",
      apiVersion,
      metadata: { creationTimestamp: null },
      spec: { namespace },
      status: {
        resourceRules: resourceRules(access, namespace),
        nonResourceRules: [],
        incomplete: true,
        evaluationError: evaluationNote(access),
      },
    },
    { status: 201 },
  );
}

/**
 * The allow rules that reach objects in `namespace` ("" for cluster-scoped objects only), as RBAC
 * rules: kind → resources, api_group → apiGroups, name → resourceNames (as written: a glob or `^…$`
 * pattern stays one), exec → create/get on pods/exec and pods/attach, portforward → on
 * pods/portforward. A rule RBAC cannot say without saying more (every kind, cluster-scoped objects
 * only) is left out: the list may show less than kubeport allows, never more.
 */
export function resourceRules(access: ResourceAccess, namespace: string): ResourceRule[] {
  const out: ResourceRule[] = [];
  for (const r of access.allow) {
    const names = r.source.name === "*" ? {} : { resourceNames: [r.source.name] };
    const verbs = r.anyVerb ? ["*"] : [...r.verbs];
    // A rule on the namespace object X reaches every object inside X.
    if (r.kind === "namespaces" && namespace !== "" && r.name.test(namespace))
      out.push({ verbs, apiGroups: ["*"], resources: ["*"] });
    if (!reaches(r, namespace)) continue;
    const plain = verbs.filter((v) => v !== "exec" && v !== "portforward");
    if (plain.length > 0)
      out.push({ verbs: plain, apiGroups: [r.source.api_group], resources: [r.kind], ...names });
    if (r.kind !== "pods" && r.kind !== "*") continue;
    if (r.anyVerb || r.verbs.has("exec"))
      out.push({
        verbs: ["create", "get"],
        apiGroups: [""],
        resources: ["pods/exec", "pods/attach"],
        ...names,
      });
    if (r.anyVerb || r.verbs.has("portforward"))
      out.push({ verbs: ["create", "get"], apiGroups: [""], resources: ["pods/portforward"], ...names });
  }
  return out;
}

/** True when the rule can match objects in `namespace` and RBAC can say so without saying more. */
function reaches(r: CompiledRule, namespace: string): boolean {
  if (r.namespaceText === "*") return true;
  if (r.namespaceText === "") {
    // Cluster-scoped objects only: sayable for a kind known to be cluster-scoped.
    const known = knownKind(r.kind);
    return known?.namespaced === false && r.source.api_group === known.group;
  }
  return namespace !== "" && r.namespace.test(namespace);
}

function evaluationNote(access: ResourceAccess): string {
  const deny = access.deny.map((r) => describeRule(r.source));
  return [
    "kubeport: these are the kubernetes_resources rules of your roles on this cluster (the cluster was not asked; its own RBAC may allow less)",
    "names may be globs or ^…$ patterns",
    "subresources such as log, status and scale follow their object's rule",
    deny.length > 0 ? `deny rules take precedence and are not listed: ${deny.join(", ")}` : "",
    "non-resource URLs are decided by the cluster",
  ]
    .filter(Boolean)
    .join("; ");
}

/** spec.namespace and the apiVersion of a SelfSubjectRulesReview (JSON or protobuf). */
function parseRulesReview(body: Uint8Array, contentType: string): { apiVersion: string; namespace: string } {
  return readReview("SelfSubjectRulesReview", body, contentType, {
    json: (raw, apiVersion, bad) => {
      const spec = raw.spec ?? {};
      if (!isObject(spec)) throw bad("spec is not an object");
      const namespace = spec.namespace ?? "";
      if (typeof namespace !== "string") throw bad("spec.namespace is not a string");
      return { apiVersion, namespace };
    },
    // SelfSubjectRulesReview (spec = 2) → SelfSubjectRulesReviewSpec (namespace = 1).
    protobuf: (message, apiVersion) => {
      const spec = onlyField(message, 2);
      const namespace = spec ? onlyField(spec, 1) : undefined;
      return {
        apiVersion,
        namespace: namespace ? new TextDecoder("utf-8", { fatal: true }).decode(namespace) : "",
      };
    },
  });
}
