// EKS matchers outside the config file (a `discovery_config` resource's spec.aws): checked by the
// config file's own matcher schema, with the same messages (unknown keys with did-you-mean, paths).
import * as v from "valibot";
import { schemaProblems } from "../lib/schema-problems.ts";
import { formatPath } from "./problems.ts";
import { awsMatcher } from "./schema.ts";
import type { AwsMatcherConfig } from "./types.ts";

/** A list of EKS matchers as discovery_service.aws holds them (also a discovery_config's spec.aws). */
export const awsMatcherList = v.pipe(
  v.array(awsMatcher, "must be a list of matchers"),
  v.minLength(1, "must list at least one matcher"),
);

/**
 * Validates a list of matchers and fills their defaults. `prefix` is where the list sits (e.g.
 * ["spec", "aws"]) so every problem names its full path: `spec.aws[0].regionz: unknown key; did
 * you mean "regions"?`.
 */
export function checkMatchers(
  raw: unknown,
  prefix: readonly (string | number)[] = [],
): { matchers?: AwsMatcherConfig[]; problems: string[] } {
  const { result, problems } = schemaProblems(awsMatcherList, raw);
  if (result.success && problems.length === 0)
    return { matchers: result.output as AwsMatcherConfig[], problems: [] };
  return { problems: problems.map((p) => `${formatPath([...prefix, ...p.segs])}: ${p.message}`) };
}
