// Who a login session is, as the gateway names and authorizes them: the same Identity a kubeport or
// OIDC bearer token yields, so roles, locks, audit and revocation treat them alike.
import type { OidcIssuerConfig } from "../../config/index.ts";
import { unauthenticated } from "../../lib/errors.ts";
import type { LoginSession, User } from "../../registry/index.ts";
import type { Identity } from "../identity.ts";
import { issuerKey, rolesForGroups } from "./oidc.ts";
import { oidcNaming, oidcPrefixes } from "./oidc-names.ts";

export interface SessionLookups {
  /** The current user record (local sessions). */
  user(name: string): User | undefined | Promise<User | undefined>;
  oidc: readonly OidcIssuerConfig[];
  /** `iss` of kubeport tokens. */
  issuer: string;
}

/**
 * The identity of a live session now: a local user's current roles (refused when the user was
 * removed or re-created), an OIDC person's roles from their groups through today's groups_to_roles
 * (refused when the issuer is no longer configured). Throws unauthenticated with the reason.
 */
export async function sessionIdentity(s: LoginSession, lookups: SessionLookups): Promise<Identity> {
  const expiresAt = Date.parse(s.metadata.expires ?? "") || 0;
  if (s.spec.source === "local") {
    const user = await lookups.user(s.spec.user);
    if (!user || user.spec.created !== s.spec.user_created)
      throw unauthenticated(`user ${JSON.stringify(s.spec.user)} no longer exists; sign in again`);
    return {
      user: s.spec.user,
      roles: [...user.spec.roles],
      source: "kubeport",
      issuer: lookups.issuer,
      expiresAt,
      userCreated: user.spec.created,
      sessionId: s.metadata.name,
    };
  }
  const cfg = lookups.oidc.find((o) => issuerKey(o.issuer_url) === issuerKey(s.spec.issuer ?? ""));
  if (!cfg)
    throw unauthenticated(`issuer ${JSON.stringify(s.spec.issuer)} is no longer configured; sign in again`);
  const groups = s.spec.groups ?? [];
  const prefix = oidcPrefixes(cfg).username;
  return {
    user: s.spec.user,
    // The claim as signed in (the session stores the prefixed name): what a lock's user may name.
    ...(s.spec.user.startsWith(prefix) ? { claimedUser: s.spec.user.slice(prefix.length) } : {}),
    roles: rolesForGroups(groups, cfg.groups_to_roles),
    groups,
    kubernetesGroups: oidcNaming(cfg).groups(groups),
    source: "oidc",
    issuer: cfg.issuer_url,
    expiresAt,
    sessionId: s.metadata.name,
  };
}
