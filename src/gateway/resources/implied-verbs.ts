// The verbs a request needs on its object beyond its own: requests checked as the parent kind with
// the HTTP verb that do what another verb does (an eviction deletes, an ephemeral container is a
// shell), mint credentials, reach every pod of a node, or create an object through PUT / apply.
import type { RequestInfo } from "../request-info.ts";

/** A verb the request needs on the same object as well, and why (said in the refusal). */
export interface ImpliedVerb {
  /** A kubernetes_resources verb, or "*": only a rule with `verbs: ["*"]` allows it. */
  verb: string;
  why: string;
}

/**
 * The extra verbs one request about a named object needs (every one of them must be allowed on the
 * object, and none denied, besides its own verb). `contentType`: the request's Content-Type header.
 */
export function impliedVerbs(
  info: Pick<RequestInfo, "verb" | "apiGroup" | "resource" | "subresource" | "name">,
  contentType: string,
): ImpliedVerb[] {
  if (info.name === undefined) return [];
  const core =
    info.apiGroup === "" ? SUBRESOURCES.get(`${info.resource}/${info.subresource ?? ""}`) : undefined;
  if (core) return !core.verbs || core.verbs.includes(info.verb) ? [core.needs] : [];
  return createdByWrite(info, contentType);
}

const everyVerb = (why: string): ImpliedVerb => ({
  verb: "*",
  why: `${why}, so it needs a rule allowing every verb (verbs: ["*"]) on it`,
});

/**
 * Core subresources that do more than their HTTP verb says: for which verbs (all when absent), and
 * what they need.
 */
const SUBRESOURCES = new Map<string, { verbs?: string[]; needs: ImpliedVerb }>(
  Object.entries({
    // policy/v1 Eviction: the API server deletes the pod (after checking its disruption budgets).
    "pods/eviction": { verbs: ["create"], needs: { verb: "delete", why: "an eviction deletes the pod" } },
    // PATCH/PUT pods/X/ephemeralcontainers adds a container of any image and command to the running
    // pod — what `kubectl debug` does: a shell in it, so it needs what exec needs.
    "pods/ephemeralcontainers": {
      verbs: ["patch", "update"],
      needs: { verb: "exec", why: "an ephemeral container runs any command inside the pod, as exec does" },
    },
    // TokenRequest: a token of the ServiceAccount, with all its cluster permissions, usable against the
    // cluster directly where no kubernetes_resources rule applies — as much as every verb on it.
    "serviceaccounts/token": {
      verbs: ["create"],
      needs: everyVerb(
        "a token minted for a ServiceAccount is used outside kubeport with all of the ServiceAccount's permissions",
      ),
    },
    // nodes/N/proxy/… is the kubelet's API: logs and specs of every pod on the node, and /run, /exec
    // into any of them — no kubernetes_resources rule on those pods applies to it. Every method.
    "nodes/proxy": {
      needs: everyVerb(
        "nodes/NAME/proxy reaches the node's kubelet (logs, specs and exec of every pod on the node)",
      ),
    },
  }),
);

/**
 * A PUT, or a server-side apply (PATCH as application/apply-patch+yaml, +cbor …), of an object that
 * does not exist yet creates it, and kube-apiserver then authorizes it again as `create` (update.go,
 * patch.go: createAuthorizerAttributes). The gateway cannot know whether it exists, so both need
 * `create` too. Subresources (status, scale …) never create (StatusREST passes forceAllowCreate false).
 */
function createdByWrite(
  info: Pick<RequestInfo, "verb" | "subresource" | "name">,
  contentType: string,
): ImpliedVerb[] {
  if (info.name === undefined || info.subresource !== undefined) return [];
  const media = contentType.split(";")[0]!.trim().toLowerCase();
  if (info.verb === "update")
    return [{ verb: "create", why: "a PUT creates the object when it does not exist yet" }];
  if (info.verb === "patch" && media.startsWith("application/apply-patch"))
    return [
      {
        verb: "create",
        why: "a server-side apply creates the object when it does not exist yet (roles that only update should use kubectl patch / kubectl apply without --server-side)",
      },
    ];
  return [];
}
