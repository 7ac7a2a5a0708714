// The schema of a role's `kubernetes_resources` rules (Teleport role v8): kind, api_group, namespace,
// name, verbs — every problem with its path, patterns checked as RE2 with their position.
import * as v from "valibot";
import { KUBE_RESOURCE_VERBS, knownKind } from "../lib/kube-kinds.ts";
import { compilePattern } from "../lib/label-patterns.ts";
import { strictMap } from "../lib/strict-map.ts";

/** At most this many rules in one list: far above a real role, and each is matched per request. */
export const MAX_KUBE_RESOURCE_RULES = 256;

const str = v.string((i) => `must be a string, got ${i.received}`);

/** A value that is a literal, a glob (`web-*`) or a `^…$` RE2 regex, checked as the matcher compiles it. */
const pattern = v.pipe(
  str,
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const r = compilePattern(dataset.value);
    if (!r.ok) addIssue({ message: r.message });
  }),
);

const VERB_LIST = KUBE_RESOURCE_VERBS.join(", ");

const verbs = v.pipe(
  v.array(str, (i) => `must be a list of verbs, got ${i.received}`),
  v.minLength(1, `must list at least one verb (${VERB_LIST}, or "*")`),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const list = dataset.value;
    list.forEach((verb, i) => {
      const at = [item(list, i)] as [v.IssuePathItem];
      if (verb === "*") {
        if (list.length > 1)
          addIssue({ message: '"*" means every verb and must be the only one in the list', path: at });
      } else if (!(KUBE_RESOURCE_VERBS as readonly string[]).includes(verb)) {
        const hint =
          verb === "attach"
            ? ' (attach is checked as "exec")'
            : verb === "port-forward" || verb === "portForward"
              ? ' (write "portforward")'
              : "";
        addIssue({
          message: `unknown verb ${JSON.stringify(verb)}${hint}; verbs are ${VERB_LIST}, or "*"`,
          path: at,
        });
      }
    });
  }),
);

const item = (input: unknown, key: string | number): v.IssuePathItem =>
  ({
    type: typeof key === "number" ? "array" : "object",
    origin: "value",
    input,
    key,
    value: (input as Record<string | number, unknown>)[key],
  }) as v.IssuePathItem;

/** One rule; cross-field checks (scope, group) run once its fields are well-formed. */
const rule = v.pipe(
  strictMap({
    kind: v.pipe(
      v.string(
        'is required: a plural resource as `kubectl api-resources` lists it ("pods", "deployments"), or "*"',
      ),
      v.nonEmpty('must not be empty: a plural resource ("pods"), or "*"'),
      v.regex(
        /^(\*|[a-z0-9][a-z0-9.-]*)$/,
        'must be a plural resource name in lower case ("pods", "crontabs"), or "*"',
      ),
    ),
    api_group: v.optional(pattern),
    namespace: v.optional(pattern),
    name: v.pipe(v.string('is required ("*" for every name)'), pattern),
    verbs,
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const r = dataset.value as { kind: string; api_group?: string; namespace?: string };
    const known = knownKind(r.kind);
    if (known?.namespaced && (r.namespace === undefined || r.namespace === ""))
      addIssue({
        message: `is required for the namespaced kind ${JSON.stringify(r.kind)} ("*" for every namespace; without it the rule matches no ${r.kind})`,
        path: [item(r, "namespace")],
      });
    if (r.kind !== "*" && r.api_group === undefined && known === undefined)
      addIssue({
        message: `is required for ${JSON.stringify(r.kind)}, which is not a built-in Kubernetes kind (the group of the custom resource, e.g. "stable.example.com", or "*")`,
        path: [item(r, "api_group")],
      });
    if (known && known.group !== "" && r.api_group === "")
      addIssue({
        message: `${JSON.stringify(r.kind)} is in the API group ${JSON.stringify(known.group)}, not the core group ""`,
        path: [item(r, "api_group")],
      });
  }),
);

/** `kubernetes_resources`: a list of rules. */
export const kubeResourcesSchema = v.pipe(
  v.array(
    rule,
    (i) => `must be a list of rules (kind, api_group, namespace, name, verbs), got ${i.received}`,
  ),
  v.maxLength(MAX_KUBE_RESOURCE_RULES, `may hold at most ${MAX_KUBE_RESOURCE_RULES} rules`),
);
