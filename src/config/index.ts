// Config: load and validate kubeport.yaml, render a starter file.

export {
  DEFAULT_AUDIT_MAX_EVENTS,
  DEFAULT_RECORDING_MAX_BYTES,
  parseCidr,
  RECORD_SESSION_MODES,
  sessionsUriProblem,
} from "./audit-schema.ts";
export {
  configPath,
  DEFAULT_CONFIG_PATH,
  DEFAULT_DATA_DIR,
  loadConfig,
  type ParseOptions,
  parseConfig,
} from "./load.ts";
export { awsMatcherList, checkMatchers } from "./matchers.ts";
export { ConfigError, type ConfigProblem, didYouMean, formatProblems } from "./problems.ts";
export { DEFAULT_ACCESS_POLICY_ARN } from "./schema.ts";
export { renderConfigTemplate, type TemplateOptions } from "./template.ts";
export type * from "./types.ts";
export { configWarnings } from "./warnings.ts";
