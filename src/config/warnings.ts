// Config that is valid but probably not what was meant: reported by `start` as warnings, never refused.
import { checkSelector } from "../lib/labels.ts";
import { formatPath, type Problem } from "../lib/problems.ts";
import type { Config } from "./types.ts";

/** Warnings about a parsed config: label patterns like `^staging|prod$` (| outside a group). */
export function configWarnings(cfg: Config): Problem[] {
  const selectors: [(string | number)[], unknown][] = [
    ...cfg.discovery_service.aws.map((m, i): [(string | number)[], unknown] => [
      ["discovery_service", "aws", i, "tags"],
      m.tags,
    ]),
    ...cfg.kubernetes_service.resources.map((r, i): [(string | number)[], unknown] => [
      ["kubernetes_service", "resources", i, "labels"],
      r.labels,
    ]),
  ];
  return selectors.flatMap(([at, selector]) =>
    checkSelector(selector).warnings.map((w) => ({
      path: formatPath([...at, ...w.path]),
      message: w.message,
    })),
  );
}
