// How an OIDC token's username and groups become Kubernetes names: each issuer's prefixes
// (kube-apiserver's --oidc-username-prefix / --oidc-groups-prefix and EKS's usernamePrefix /
// groupsPrefix, with kubeport's defaults), and the refusal of names Kubernetes keeps for itself.
import type { OidcIssuerConfig } from "../../config/index.ts";
import { accessDenied } from "../../lib/errors.ts";

/** The configured value that turns a prefix off (as in kube-apiserver and EKS). */
export const NO_PREFIX = "-";

/** Kubernetes' own users and groups (system:masters, system:kube-controller-manager, …). */
export const SYSTEM_PREFIX = "system:";

export interface OidcPrefixes {
  /** Prepended to the username claim ("" when off). */
  username: string;
  /** Prepended to every group from the groups claim ("" when off). */
  groups: string;
}

/**
 * The issuer's prefixes. Unset, both are `<issuer_url>#` (the issuer URL as configured), whatever
 * the claim: unlike kube-apiserver, which leaves an `email` username bare, kubeport also serves its
 * own users (whose names may hold '@') and several issuers at once, and any issuer can sign any
 * email or group name. With the issuer in every name, OIDC `alice` is not kubeport's `alice`, and
 * one issuer's `admins` group is not another's.
 */
export function oidcPrefixes(
  cfg: Pick<OidcIssuerConfig, "issuer_url" | "username_prefix" | "groups_prefix">,
): OidcPrefixes {
  const resolve = (configured: string | undefined) =>
    configured === undefined ? `${cfg.issuer_url}#` : configured === NO_PREFIX ? "" : configured;
  return { username: resolve(cfg.username_prefix), groups: resolve(cfg.groups_prefix) };
}

/**
 * What is wrong with a name for a header value the API server reads, or undefined. Go's net/http
 * strips spaces and tabs around a header value, so `" system:masters"` would be read as
 * `system:masters`: a name may not start or end with whitespace (any Unicode White_Space, so
 * look-alikes such as U+00A0 or U+3000 are refused with it), nor hold whitespace other than a plain
 * space (AD groups such as `Domain Users` keep working), a control character (C0, DEL, C1), or a
 * lone UTF-16 surrogate (it has no UTF-8 form: it would reach the cluster as U+FFFD, another name).
 * Other non-ASCII names are fine: they go upstream as UTF-8, as client-go sends them.
 */
export function nameProblem(name: string): string | undefined {
  if (name === "") return "is empty";
  if (/\p{Cc}/u.test(name)) return "holds a control character";
  if (/^\s|\s$/u.test(name))
    return "starts or ends with whitespace (the API server strips it from a header, and would read another name)";
  if (/[^\S ]/u.test(name)) return "holds whitespace other than a plain space";
  if (!name.isWellFormed()) return "is not valid Unicode (a lone surrogate)";
  return undefined;
}

/**
 * Refuses a name built from a token that Kubernetes would read as one of its own, or as another
 * name than kubeport checked, or that cannot be sent: the check is made on the name as the API
 * server will read it (nameProblem refuses every name it would read differently).
 */
function checkName(
  name: string,
  claim: string,
  value: string,
  what: "user" | "group",
  prefix: string,
): string {
  const problem = nameProblem(value) ?? nameProblem(name);
  if (problem)
    throw accessDenied(
      `OIDC claim ${JSON.stringify(claim)} value ${JSON.stringify(value)} ${problem}: it cannot be a Kubernetes ${what} name`,
    );
  if (name.startsWith(SYSTEM_PREFIX)) {
    throw accessDenied(
      `OIDC claim ${JSON.stringify(claim)} value ${JSON.stringify(value)} would reach the cluster as ${what} ` +
        `${JSON.stringify(name)}: names starting with "${SYSTEM_PREFIX}" are Kubernetes' own and are never taken from a token` +
        (prefix ? "" : ` (the issuer's ${what === "user" ? "username" : "groups"}_prefix is "${NO_PREFIX}")`),
    );
  }
  return name;
}

/** Turns claim values into the Kubernetes names that go upstream; throws access_denied (403) for system: ones. */
export interface OidcNaming {
  user(value: string): string;
  groups(values: readonly string[]): string[];
}

/** The naming rules for one configured issuer. */
export function oidcNaming(cfg: OidcIssuerConfig): OidcNaming {
  const prefixes = oidcPrefixes(cfg);
  return {
    user: (value) =>
      checkName(prefixes.username + value, cfg.username_claim, value, "user", prefixes.username),
    groups: (values) =>
      values.map((g) => checkName(prefixes.groups + g, cfg.groups_claim, g, "group", prefixes.groups)),
  };
}
