// Per-resource access (kubernetes_resources): rules, decisions, the request's attributes and refusals.
export {
  type CollectionDecision,
  checkCollection,
  checkObject,
  type ObjectDecision,
  type ResourceAccess,
  resourceAccess,
} from "./access.ts";
export { ACCESS_REVIEW, type ReviewDecision, reviewAccess } from "./access-review.ts";
export {
  checkResources,
  forbiddenText,
  MAX_CREATE_BODY_BYTES,
  type ResourceCheck,
  rbacVerb,
  streamAccess,
} from "./request-check.ts";
export {
  type CompiledRule,
  compileRule,
  describeRule,
  FULL_WILDCARD,
  type ResourceAttrs,
  ruleMatches,
} from "./rules.ts";
export { type ResourceRule, RULES_REVIEW, resourceRules, reviewRules } from "./rules-review.ts";
