// A role made ready for decisions — or marked broken, so that it fails closed instead of vanishing.
import { describeError } from "../lib/errors.ts";
import { type CompiledSelector, compileSelector } from "../lib/labels.ts";
import { formatProblem } from "../lib/problems.ts";
import { type Role, type RoleConditions, resourceProblems } from "../registry/index.ts";
import type { RecordMode } from "./recording-mode.ts";
import { type CompiledRule, compileRule } from "./resources/index.ts";

export interface CompiledRole {
  name: string;
  /**
   * Why the stored role cannot be used (a pattern that does not compile, a misspelled key, a wrong
   * type: it was stored before validation was strict, or written into the registry directly). A
   * broken role grants nothing and denies every cluster to whoever holds it, until it is fixed:
   * skipping it would silently drop its deny rules (issue 10: a deny list with one bad pattern let
   * its holders into the cluster it was written to keep them out of).
   */
  broken?: string;
  /** Undefined when the role allows no labels: it reaches no cluster. */
  allow?: CompiledSelector;
  /** Undefined when the role denies no labels. */
  deny?: CompiledSelector;
  allowGroups: string[];
  allowUsers: string[];
  denyGroups: string[];
  denyUsers: string[];
  /**
   * allow.kubernetes_resources; undefined when the role lists none (Teleport v8's default then: the
   * full wildcard, so a role written before the field existed reaches every object, as it did).
   */
  allowResources?: CompiledRule[];
  denyResources: CompiledRule[];
  /** allow.review_recordings / deny.review_recordings. */
  reviewRecordings?: "allow" | "deny";
  /** options.record_session.default; undefined: the role leaves it to audit.record_session. */
  recordSession?: RecordMode;
}

const hasLabels = (c: RoleConditions | undefined) =>
  c?.kubernetes_labels !== undefined && Object.keys(c.kubernetes_labels).length > 0;

/** Checks the role as the registry's write check does (so a stored role is held to it too), then compiles it. */
export function compileRole(role: Role): CompiledRole {
  const name = role.metadata.name;
  const nothing = { allowGroups: [], allowUsers: [], denyGroups: [], denyUsers: [], denyResources: [] };
  const problems = resourceProblems(role);
  if (problems.length > 0) {
    const shown = problems.slice(0, 3).map(formatProblem);
    if (problems.length > 3) shown.push(`and ${problems.length - 3} more`);
    return { name, broken: shown.join("; "), ...nothing };
  }
  try {
    const { allow, deny } = role.spec;
    return {
      name,
      ...(hasLabels(allow) ? { allow: compileSelector(allow.kubernetes_labels) } : {}),
      ...(hasLabels(deny) ? { deny: compileSelector(deny!.kubernetes_labels) } : {}),
      allowGroups: allow.kubernetes_groups ?? [],
      allowUsers: allow.kubernetes_users ?? [],
      denyGroups: deny?.kubernetes_groups ?? [],
      denyUsers: deny?.kubernetes_users ?? [],
      ...(allow.kubernetes_resources?.length
        ? {
            allowResources: allow.kubernetes_resources.map((rule, index) =>
              compileRule(rule, { role: name, side: "allow", index }),
            ),
          }
        : {}),
      denyResources: (deny?.kubernetes_resources ?? []).map((rule, index) =>
        compileRule(rule, { role: name, side: "deny", index }),
      ),
      ...(role.spec.options?.record_session?.default
        ? { recordSession: role.spec.options.record_session.default }
        : {}),
      ...(deny?.review_recordings
        ? { reviewRecordings: "deny" as const }
        : allow.review_recordings
          ? { reviewRecordings: "allow" as const }
          : {}),
    };
  } catch (err) {
    // The check above compiles the same patterns; this is only a second line of defence.
    return { name, broken: describeError(err), ...nothing };
  }
}
