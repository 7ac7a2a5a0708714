// groups_to_roles entries that name a role the registry does not have. Such a role denies every
// cluster to the people it is given to (authorize.ts); the gateway says so at start and whenever
// the roles change, so a typo is found before someone is refused (or would have been let in).
import type { OidcIssuerConfig } from "../config/index.ts";
import type { Logger } from "../lib/log.ts";

export interface UnknownRoleTarget {
  issuer: string;
  group: string;
  role: string;
}

/** Every (issuer, group, role) of `groups_to_roles` whose role `exists` says is not there. */
export function unknownRoleTargets(
  issuers: readonly Pick<OidcIssuerConfig, "issuer_url" | "groups_to_roles">[],
  exists: (role: string) => boolean,
): UnknownRoleTarget[] {
  const out: UnknownRoleTarget[] = [];
  for (const o of issuers)
    for (const [group, roles] of Object.entries(o.groups_to_roles))
      for (const role of roles) if (!exists(role)) out.push({ issuer: o.issuer_url, group, role });
  return out;
}

/**
 * A check to call at start and after every role change: logs each missing target at ERROR once
 * (until it exists again), and at INFO when it is found again.
 */
export function roleTargetReporter(
  issuers: readonly Pick<OidcIssuerConfig, "issuer_url" | "groups_to_roles">[],
  exists: (role: string) => boolean,
  log: Logger,
): () => void {
  let reported = new Set<string>();
  return () => {
    const now = new Set<string>();
    for (const t of unknownRoleTargets(issuers, exists)) {
      const key = JSON.stringify([t.issuer, t.group, t.role]);
      now.add(key);
      if (!reported.has(key))
        log.error(
          { issuer: t.issuer, group: t.group, role: t.role },
          `groups_to_roles maps group ${JSON.stringify(t.group)} to role ${JSON.stringify(t.role)}, which does not exist: everyone in that group is refused every cluster until the role is created or the mapping fixed`,
        );
    }
    for (const key of reported)
      if (!now.has(key)) {
        const [issuer, group, role] = JSON.parse(key) as string[];
        log.info({ issuer, group, role }, "groups_to_roles target exists now");
      }
    reported = now;
  };
}
