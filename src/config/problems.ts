// ConfigError: every problem found in a config file (the shared Problem machinery lives in lib/problems.ts).
import { type Problem, ProblemsError } from "../lib/problems.ts";

export { didYouMean, formatPath, formatProblems } from "../lib/problems.ts";
export type ConfigProblem = Problem;

/** Thrown by parseConfig/loadConfig; `problems` lists everything wrong at once. */
export class ConfigError extends ProblemsError {
  constructor(source: string, problems: ConfigProblem[]) {
    super("config", source, problems);
    this.name = "ConfigError";
  }
}
